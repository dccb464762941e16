import Foundation
import VMLabSupport
import Yams

/// `revert: {vm, name}`: back to a named snapshot, waiting for the agent when it runs.
public struct RevertStep: StepKind, Equatable {
    public static let key = "revert"
    public static let form = "`{vm, name}`"
    public static let summary = "reverts to a named snapshot"
    public static let schema = Schema.object(required: ["vm", "name"], ["vm": Schema.ref("vmRef"), "name": Schema.ref("text")])

    public var vm: String
    public var name: String

    public static func read(_ value: Node, field: String, context: StepContext) -> RevertStep? {
        context.vmAndName(value, field: field).map { RevertStep(vm: $0.vm, name: $0.name) }
    }

    public func substituted(_ values: [String: String]) throws -> RevertStep {
        RevertStep(vm: try substitute(vm, values), name: try substitute(name, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).revert(to: name)
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): revert to \(name)" }
}

extension Step {
    public static func revert(vm: String, name: String) -> Step { Step(RevertStep(vm: vm, name: name)) }
}
