import Foundation
import VMLabSupport
import Yams

/// `parallel: [steps]`: steps started together; the group ends when all have.
public struct ParallelStep: StepKind, Equatable {
    public static let key = "parallel"
    public static let form = "`parallel: [steps...]`"
    public static let summary = "starts the steps together; done when all are (may nest)"
    public static let schema: JSONValue = ["type": "array", "minItems": 1, "items": Schema.ref("step")]

    public var steps: [Step]

    public static func read(_ value: Node, field: String, context: StepContext) -> ParallelStep? {
        guard case .sequence(let seq) = value, !seq.isEmpty else {
            context.fail(value, field, "expected a non-empty list of steps to start together")
            return nil
        }
        return ParallelStep(steps: context.steps(Array(seq), path: field))
    }

    public func substituted(_ values: [String: String]) throws -> ParallelStep {
        ParallelStep(steps: try steps.map { try $0.substituted(values) })
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for step in steps { group.addTask { try await lab.execute(step) } }
            try await group.waitForAll()
        }
        return nil
    }

    public var vms: [String] { [] }
    public var nested: [Step] { steps }
    public var detail: String { "parallel: " + steps.map(\.detail).joined(separator: " | ") }
}

extension Step {
    public static func parallel(_ steps: [Step]) -> Step { Step(ParallelStep(steps: steps)) }
}
