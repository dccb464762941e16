import Foundation
import VMLabSupport
import Yams

/// `exec: {vm, command, timeout: 300, allow-failure: false}`: a shell command in a guest.
public struct ExecStep: StepKind, Equatable {
    public static let key = "exec"
    public static let form = "`{vm, command, timeout: 300, allow-failure: false}`"
    public static let summary = "runs `sh -c command` in the guest; a non-zero exit fails the run unless `allow-failure`"
    public static let schema = Schema.object(required: ["vm", "command"], [
        "vm": Schema.ref("vmRef"),
        "command": Schema.ref("text", "Run with sh -c in the guest."),
        "timeout": Schema.ref("seconds", "Seconds; default 300."),
        "allow-failure": ["type": "boolean", "description": "A non-zero exit does not fail the run (default false)."],
    ])

    public var vm: String
    public var command: String
    public var timeoutSeconds: Int
    public var allowFailure: Bool

    public init(vm: String, command: String, timeoutSeconds: Int = 300, allowFailure: Bool = false) {
        self.vm = vm
        self.command = command
        self.timeoutSeconds = timeoutSeconds
        self.allowFailure = allowFailure
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> ExecStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let command = context.requiredText(m, "command")
        let timeout = m.int("timeout", range: 1...86400) ?? 300
        let allowFailure = m.bool("allow-failure") ?? false
        guard let vm, !command.isEmpty else { return nil }
        return ExecStep(vm: vm, command: command, timeoutSeconds: timeout, allowFailure: allowFailure)
    }

    public func substituted(_ values: [String: String]) throws -> ExecStep {
        var s = self
        s.vm = try substitute(vm, values)
        s.command = try substitute(command, values)
        return s
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        let result = try await lab.vm(vm).shell(command, timeout: .seconds(timeoutSeconds))
        if result.exitCode != 0 && !allowFailure {
            throw VMLabError(.failed, "\(vm): `\(command)` exited with status \(result.exitCode): \(result.stderrText.suffix(500))")
        }
        return result.stdoutText + result.stderrText
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): \(command)" }
}

extension Step {
    public static func exec(vm: String, command: String, timeoutSeconds: Int = 300, allowFailure: Bool = false) -> Step {
        Step(ExecStep(vm: vm, command: command, timeoutSeconds: timeoutSeconds, allowFailure: allowFailure))
    }
}
