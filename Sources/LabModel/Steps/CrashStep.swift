import Foundation
import VMLabSupport
import Yams

/// `crash: VM`: virDomainDestroy, the power cut; nothing is flushed.
public struct CrashStep: StepKind, Equatable {
    public static let key = "crash"
    public static let form = "`crash: VM`"
    public static let summary = "cuts the power (virDomainDestroy): nothing is flushed"
    public static let schema = Schema.ref("vmRef", "Power cut: nothing is flushed.")

    public var vm: String

    public static func read(_ value: Node, field: String, context: StepContext) -> CrashStep? {
        context.scalarVM(value, field: field, example: "crash: box").map(CrashStep.init)
    }

    public func substituted(_ values: [String: String]) throws -> CrashStep { CrashStep(vm: try substitute(vm, values)) }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).powerCut()
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): power cut" }
}

extension Step {
    public static func crash(vm: String) -> Step { Step(CrashStep(vm: vm)) }
}
