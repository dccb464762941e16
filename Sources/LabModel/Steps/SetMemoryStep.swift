import Foundation
import VMLabSupport
import Yams

/// `set-memory: {vm, memory}`: the balloon target of a running VM, in MiB.
public struct SetMemoryStep: StepKind, Equatable {
    public static let key = "set-memory"
    public static let form = "`{vm, memory}`"
    public static let summary = "balloon target in MiB: `256`, `${param}` or arithmetic `\"= 512 / ${ratio}\"`"
    public static let schema = Schema.object(required: ["vm", "memory"], [
        "vm": Schema.ref("vmRef"),
        "memory": [
            "anyOf": [Schema.ref("wholeOrParameter"), Schema.ref("arithmetic")],
            "description": "Balloon target in MiB: a number, ${parameter} or \"= arithmetic\".",
        ],
    ])

    public var vm: String
    /// MiB as a whole number, `${param}` or `= arithmetic`, evaluated by `mebibytes()`.
    public var memory: String

    public init(vm: String, memory: String) {
        self.vm = vm
        self.memory = memory
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> SetMemoryStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let memory = context.requiredText(m, "memory")
        guard let vm, !memory.isEmpty else { return nil }
        return SetMemoryStep(vm: vm, memory: memory)
    }

    /// The target in MiB: the one place the value is checked, at load time and at run time.
    public func mebibytes() throws(StepProblem) -> UInt64 {
        let value: Double
        do {
            if let computed = try arithmeticValue(memory) {
                value = computed
            } else if let n = UInt64(memory.trimmingCharacters(in: .whitespaces)) {
                value = Double(n)
            } else {
                throw StepProblem("memory", "expected MiB as a whole number above 0 (like 256), ${parameter}, "
                                  + "or arithmetic like \"= 512 / ${ratio}\", got '\(memory)'")
            }
        } catch let problem as StepProblem {
            throw problem
        } catch {
            throw StepProblem("memory", "\(error)")
        }
        guard value >= 1, value < 1e9 else {
            throw StepProblem("memory", "'\(memory)' gives \(shortNumber(value)) MiB; give at least 1")
        }
        return UInt64(value.rounded())
    }

    public func check() throws(StepProblem) { _ = try mebibytes() }

    public func substituted(_ values: [String: String]) throws -> SetMemoryStep {
        SetMemoryStep(vm: try substitute(vm, values), memory: try substitute(memory, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).setMemory(mebibytes: try mebibytes())
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): memory \(memory) MiB" }
}

extension Step {
    public static func setMemory(vm: String, mebibytes: String) -> Step { Step(SetMemoryStep(vm: vm, memory: mebibytes)) }
}
