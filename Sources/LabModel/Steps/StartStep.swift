import Foundation
import VMLabSupport
import Yams

/// `start: VM`: boots a VM and waits until its agent answers and its NICs are configured.
public struct StartStep: StepKind, Equatable {
    public static let key = "start"
    public static let form = "`start: VM`"
    public static let summary = "starts the VM and waits for its agent"
    public static let schema = Schema.ref("vmRef", "Start the VM and wait for its agent.")

    public var vm: String

    public static func read(_ value: Node, field: String, context: StepContext) -> StartStep? {
        context.scalarVM(value, field: field, example: "start: box").map(StartStep.init)
    }

    public func substituted(_ values: [String: String]) throws -> StartStep { StartStep(vm: try substitute(vm, values)) }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).start()
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): start" }
}

extension Step {
    public static func start(vm: String) -> Step { Step(StartStep(vm: vm)) }
}
