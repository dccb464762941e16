import Foundation
import VMLabSupport
import Yams

/// `shutdown: VM`: a clean power-off through the agent, within 60 s.
public struct ShutdownStep: StepKind, Equatable {
    public static let key = "shutdown"
    public static let form = "`shutdown: VM`"
    public static let summary = "clean power-off through the agent"
    public static let schema = Schema.ref("vmRef", "Clean power-off through the agent.")
    static let timeout = Duration.seconds(60)

    public var vm: String

    public static func read(_ value: Node, field: String, context: StepContext) -> ShutdownStep? {
        context.scalarVM(value, field: field, example: "shutdown: box").map(ShutdownStep.init)
    }

    public func substituted(_ values: [String: String]) throws -> ShutdownStep { ShutdownStep(vm: try substitute(vm, values)) }

    public func run(in lab: any LabRuntime) async throws -> String? {
        guard try await lab.vm(vm).shutDown(timeout: Self.timeout) else {
            throw VMLabError(.timeout, "\(vm) did not power off within \(Self.timeout.components.seconds) s")
        }
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): shutdown" }
}

extension Step {
    public static func shutdown(vm: String) -> Step { Step(ShutdownStep(vm: vm)) }
}
