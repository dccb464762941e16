import Foundation
import VMLabSupport
import Yams

/// `link: {vm, nic: 0, state: up|down}`: plugs or unplugs a NIC's cable.
public struct LinkStep: StepKind, Equatable {
    public static let key = "link"
    public static let form = "`{vm, nic: 0, state: up\\|down}`"
    public static let summary = "plugs or unplugs a NIC's cable; `nic` is the 0-based NIC index"
    public static let schema = Schema.object(required: ["vm", "state"], [
        "vm": Schema.ref("vmRef"),
        "nic": ["type": "integer", "minimum": 0, "maximum": .int(LabSpec.maxNICs - 1), "description": "0-based NIC index; default 0."],
        "state": ["enum": ["up", "down"]],
    ])

    public var vm: String
    public var nic: Int
    public var up: Bool

    public static func read(_ value: Node, field: String, context: StepContext) -> LinkStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        var nic = m.int("nic") ?? 0
        if nic < 0 {
            m.fail("nic", "nic is a 0-based index: 0 is the VM's first NIC")
            nic = 0
        }
        if let vm, let spec = context.vmSpec(vm), nic >= spec.nics.count {
            if spec.nics.isEmpty {
                m.fail(m.value("nic") != nil ? "nic" : "vm", "VM \(vm) has no NICs; declare one under vms.\(vm).nics")
            } else {
                m.fail("nic", "VM \(vm) has \(spec.nics.count) NIC(s); nic is 0-based, so use 0...\(spec.nics.count - 1)")
            }
        }
        let state = m.string("state", required: true)
        if let state, state != "up", state != "down" {
            m.fail("state", "expected up or down, got '\(state)'")
        }
        guard let vm, let state, state == "up" || state == "down" else { return nil }
        return LinkStep(vm: vm, nic: nic, up: state == "up")
    }

    public func substituted(_ values: [String: String]) throws -> LinkStep {
        LinkStep(vm: try substitute(vm, values), nic: nic, up: up)
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.vm(vm).setLink(nic: nic, up: up)
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): eth\(nic) link \(up ? "up" : "down")" }
}

extension Step {
    public static func link(vm: String, nic: Int, up: Bool) -> Step { Step(LinkStep(vm: vm, nic: nic, up: up)) }
}
