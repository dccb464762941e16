import Foundation
import VMLabSupport
import Yams

/// `set-cpu: {vm, shares, period, quota}`: CPU weight and cap of a VM at run time.
public struct SetCPUStep: StepKind, Equatable {
    public static let key = "set-cpu"
    public static let form = "`{vm, shares, period, quota}`"
    public static let summary = "CPU tuning at run time; at least one of the three; whole numbers or `${param}`"
    public static let schema = Schema.object(required: ["vm"], [
        "vm": Schema.ref("vmRef"),
        "shares": Schema.ref("wholeOrParameter"),
        "period": Schema.ref("wholeOrParameter"),
        "quota": Schema.ref("wholeOrParameter"),
    ]).merging(["anyOf": [["required": ["shares"]], ["required": ["period"]], ["required": ["quota"]]]])

    public var vm: String
    /// Whole numbers or `${param}` text, evaluated by `tuning()`.
    public var shares: String?
    public var period: String?
    public var quota: String?

    public init(vm: String, shares: String? = nil, period: String? = nil, quota: String? = nil) {
        self.vm = vm
        self.shares = shares
        self.period = period
        self.quota = quota
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> SetCPUStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let shares = context.optionalText(m, "shares"), period = context.optionalText(m, "period")
        let quota = context.optionalText(m, "quota")
        if shares == nil, period == nil, quota == nil {
            m.failHere(m.path, "give at least one of shares, period, quota")
        }
        return vm.map { SetCPUStep(vm: $0, shares: shares, period: period, quota: quota) }
    }

    /// The values as numbers: the one place they are checked, at load time and at run time.
    public func tuning() throws(StepProblem) -> CPUTuning {
        func number<T: FixedWidthInteger>(_ text: String?, _ field: String, min: T) throws(StepProblem) -> T? {
            guard let text else { return nil }
            guard let n = T(text.trimmingCharacters(in: .whitespaces)) else {
                throw StepProblem(field, "expected a whole number or ${parameter}, got '\(text)'")
            }
            guard n >= min else { throw StepProblem(field, "\(n) is below the minimum \(min)") }
            return n
        }
        return CPUTuning(shares: try number(shares, "shares", min: 1), period: try number(period, "period", min: 1),
                         quota: try number(quota, "quota", min: -1))
    }

    public func check() throws(StepProblem) { _ = try tuning() }

    public func substituted(_ values: [String: String]) throws -> SetCPUStep {
        func s(_ text: String?) throws -> String? { try text.map { try substitute($0, values) } }
        return SetCPUStep(vm: try substitute(vm, values), shares: try s(shares), period: try s(period), quota: try s(quota))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).setCPU(try tuning())
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): cpu shares=\(shares ?? "-") period=\(period ?? "-") quota=\(quota ?? "-")" }
}

extension Step {
    public static func setCPU(vm: String, shares: String?, period: String?, quota: String?) -> Step {
        Step(SetCPUStep(vm: vm, shares: shares, period: period, quota: quota))
    }
}
