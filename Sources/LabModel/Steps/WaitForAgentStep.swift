import Foundation
import VMLabSupport
import Yams

/// `wait-for-agent: VM` or `{vm, timeout: 300}`: waits until the guest agent answers.
public struct WaitForAgentStep: StepKind, Equatable {
    public static let key = "wait-for-agent"
    public static let form = "`wait-for-agent: VM` or `{vm, timeout: 300}`"
    public static let summary = "waits until the guest agent answers"
    public static let schema: JSONValue = ["oneOf": [
        Schema.ref("vmRef"),
        Schema.object(required: ["vm"], ["vm": Schema.ref("vmRef"), "timeout": Schema.ref("seconds")]),
    ]]

    public var vm: String
    public var timeoutSeconds: Int

    public init(vm: String, timeoutSeconds: Int = 300) {
        self.vm = vm
        self.timeoutSeconds = timeoutSeconds
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> WaitForAgentStep? {
        if case .scalar = value {
            return context.scalarVM(value, field: field, example: "wait-for-agent: box").map { WaitForAgentStep(vm: $0) }
        }
        guard let m = context.fields(value, field, expected: "a VM name or {vm, timeout}") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let timeout = m.int("timeout", range: 1...86400) ?? 300
        return vm.map { WaitForAgentStep(vm: $0, timeoutSeconds: timeout) }
    }

    public func substituted(_ values: [String: String]) throws -> WaitForAgentStep {
        WaitForAgentStep(vm: try substitute(vm, values), timeoutSeconds: timeoutSeconds)
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).waitForAgent(timeout: .seconds(timeoutSeconds))
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): wait for agent" }
}

extension Step {
    public static func waitForAgent(vm: String, timeoutSeconds: Int = 300) -> Step {
        Step(WaitForAgentStep(vm: vm, timeoutSeconds: timeoutSeconds))
    }
}
