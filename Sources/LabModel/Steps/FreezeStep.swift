import Foundation
import VMLabSupport
import Yams

/// `freeze: VM` or `{vm, timeout: 30}`: freezes the guest's filesystems through its agent
/// (guest-fsfreeze-freeze), after its fsfreeze hooks ran. A hook that runs longer than
/// `timeout` seconds is killed and the freeze fails. The runner thaws the VM when the run
/// ends if no `thaw` step did, on every path: a guest is never left frozen.
public struct FreezeStep: StepKind, Equatable {
    public static let key = "freeze"
    public static let form = "`freeze: VM` or `{vm, timeout: 30}`"
    public static let summary = "freezes the guest's filesystems (fsfreeze through the agent; hooks cut off after `timeout`); thawed at the end of the run at the latest"
    public static let schema: JSONValue = ["oneOf": [
        Schema.ref("vmRef"),
        Schema.object(required: ["vm"], ["vm": Schema.ref("vmRef"), "timeout": Schema.ref("seconds")]),
    ]]

    public var vm: String
    /// Seconds each fsfreeze hook may run.
    public var timeoutSeconds: Int

    public init(vm: String, timeoutSeconds: Int = 30) {
        self.vm = vm
        self.timeoutSeconds = timeoutSeconds
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> FreezeStep? {
        if case .scalar = value {
            return context.scalarVM(value, field: field, example: "freeze: box").map { FreezeStep(vm: $0) }
        }
        guard let m = context.fields(value, field, expected: "a VM name or {vm, timeout}") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let timeout = m.int("timeout", range: 1...600) ?? 30
        return vm.map { FreezeStep(vm: $0, timeoutSeconds: timeout) }
    }

    public func substituted(_ values: [String: String]) throws -> FreezeStep {
        FreezeStep(vm: try substitute(vm, values), timeoutSeconds: timeoutSeconds)
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        let count = try await lab.vm(vm).freezeFilesystems(hookTimeout: .seconds(timeoutSeconds))
        return "\(count) filesystem(s) frozen"
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): freeze filesystems" }
}

extension Step {
    public static func freeze(vm: String, timeoutSeconds: Int = 30) -> Step { Step(FreezeStep(vm: vm, timeoutSeconds: timeoutSeconds)) }
}
