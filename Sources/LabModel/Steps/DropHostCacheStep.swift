import Foundation
import VMLabSupport
import Yams

/// `drop-host-cache: {vm, disk}`: drops a VM's disk file from the host's page cache
/// (its dirty pages are written back first), so what a measurement then finds cached on the
/// host was cached by the run itself. A fixed host action on the VM's own file, never a command.
public struct DropHostCacheStep: StepKind, Equatable {
    public static let key = "drop-host-cache"
    public static let form = "`{vm, disk}`"
    public static let summary = "drops the VM's disk file (a disk name, or `root`) from the host page cache, after writing it back"
    public static let schema = Schema.object(required: ["vm", "disk"], [
        "vm": Schema.ref("vmRef"),
        "disk": ["type": "string", "description": "A disk of the VM by name, or root (vda); may be ${param}."],
    ])

    public var vm: String
    public var disk: String

    public init(vm: String, disk: String) {
        self.vm = vm
        self.disk = disk
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> DropHostCacheStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let disk = context.requiredText(m, "disk")
        guard let vm, !disk.isEmpty else { return nil }
        if !disk.contains("${"), let spec = context.vmSpec(vm), disk != HostReading.rootDisk, !spec.disks.contains(where: { $0.name == disk }) {
            m.fail("disk", "VM \(vm) has no disk '\(disk)' (disks: \(([HostReading.rootDisk] + spec.disks.map(\.name)).joined(separator: ", ")))")
            return nil
        }
        return DropHostCacheStep(vm: vm, disk: disk)
    }

    public func substituted(_ values: [String: String]) throws -> DropHostCacheStep {
        DropHostCacheStep(vm: try substitute(vm, values), disk: try substitute(disk, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.dropHostCache(vm: vm, disk: disk)
        return nil
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): drop disk \(disk) from the host page cache" }
}

extension Step {
    public static func dropHostCache(vm: String, disk: String) -> Step { Step(DropHostCacheStep(vm: vm, disk: disk)) }
}
