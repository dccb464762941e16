import Foundation
import VMLabSupport
import Yams

/// `snapshot: {vm, name}`: a named snapshot of a VM (disk and, when running, memory).
public struct SnapshotStep: StepKind, Equatable {
    public static let key = "snapshot"
    public static let form = "`{vm, name}`"
    public static let summary = "takes a named snapshot"
    public static let schema = Schema.object(required: ["vm", "name"], ["vm": Schema.ref("vmRef"), "name": Schema.ref("text")])

    public var vm: String
    public var name: String

    public static func read(_ value: Node, field: String, context: StepContext) -> SnapshotStep? {
        context.vmAndName(value, field: field).map { SnapshotStep(vm: $0.vm, name: $0.name) }
    }

    public func substituted(_ values: [String: String]) throws -> SnapshotStep {
        SnapshotStep(vm: try substitute(vm, values), name: try substitute(name, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).snapshot(name)
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): snapshot \(name)" }
}

extension Step {
    public static func snapshot(vm: String, name: String) -> Step { Step(SnapshotStep(vm: vm, name: name)) }
}

extension StepContext {
    /// `{vm, name}`, both required (snapshot and revert).
    func vmAndName(_ value: Node, field: String) -> (vm: String, name: String)? {
        guard let m = fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = self.vm(m)
        let name = requiredText(m, "name")
        guard let vm, !name.isEmpty else { return nil }
        return (vm, name)
    }
}
