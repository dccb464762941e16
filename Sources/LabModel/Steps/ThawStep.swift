import Foundation
import VMLabSupport
import Yams

/// `thaw: VM`: thaws the guest's filesystems (guest-fsfreeze-thaw); its fsfreeze hooks then
/// run with "thaw".
public struct ThawStep: StepKind, Equatable {
    public static let key = "thaw"
    public static let form = "`thaw: VM`"
    public static let summary = "thaws the guest's filesystems (its hooks then run with `thaw`)"
    public static let schema = Schema.ref("vmRef", "Thaw the guest's filesystems.")

    public var vm: String

    public static func read(_ value: Node, field: String, context: StepContext) -> ThawStep? {
        context.scalarVM(value, field: field, example: "thaw: box").map(ThawStep.init)
    }

    public func substituted(_ values: [String: String]) throws -> ThawStep { ThawStep(vm: try substitute(vm, values)) }

    public func run(in lab: any LabRuntime) async throws -> String? {
        "\(try await lab.vm(vm).thawFilesystems()) filesystem(s) thawed"
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): thaw filesystems" }
}

extension Step {
    public static func thaw(vm: String) -> Step { Step(ThawStep(vm: vm)) }
}
