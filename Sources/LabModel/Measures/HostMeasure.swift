import Foundation
import VMLabSupport
import Yams

/// `{name, unit, host: READING, vm, disk}`: a value read on the host, from a fixed list
/// (`HostReading`): page-cache residency of a VM's disk file, block and memory statistics
/// from libvirt, /proc/meminfo counters. The lab names the reading; it never runs a command.
public struct HostMeasure: MeasureSource, Equatable {
    public static let selector: String? = "host"
    public static let form = "`{name, unit, host: READING, vm, disk}`"
    public static var summary: String {
        "a host-side reading from a fixed list: "
            + HostReading.allCases.map { "`\($0.rawValue)` (\($0.summary))" }.joined(separator: ", ")
            + "; `vm` for all but the `host-*` counters, `disk` (a disk name, or `root`) for the disk readings"
    }
    public static let defaultUnit: String? = nil
    public static let schema: JSONValue = Schema.object(required: ["name", "unit", "host"], [
        "name": Schema.ref("measureName"),
        "unit": ["type": "string"],
        "host": ["enum": .array(HostReading.allCases.map { .string($0.rawValue) }), "description": "The host-side reading."],
        "vm": Schema.ref("vmRef"),
        "disk": ["type": "string", "description": "A disk of the VM by name, or root (vda); may be ${param}."],
    ], description: "A host-side reading from a fixed list; never a host command.")

    public var reading: HostReading
    public var vm: String?
    public var disk: String?

    public init(reading: HostReading, vm: String? = nil, disk: String? = nil) {
        self.reading = reading
        self.vm = vm
        self.disk = disk
    }

    public static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> HostMeasure? {
        let name = m.string("host", required: true) ?? ""
        guard let reading = HostReading(rawValue: name) else {
            m.fail("host", "unknown host reading '\(name)' (known: \(HostReading.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        var vm: String?
        if m.value("vm") != nil || reading.needsVM {
            guard reading.needsVM else {
                m.fail("vm", "\(reading.rawValue) is a host counter, not about one VM; leave out vm")
                return nil
            }
            vm = context.vm(m)
            guard vm != nil else { return nil }
        }
        let disk = context.optionalText(m, "disk")
        if reading.needsDisk, disk == nil {
            m.fail("host", "\(reading.rawValue) is about one disk: add `disk: NAME` (or `disk: root`)")
            return nil
        }
        if let disk, !reading.needsDisk {
            m.fail("disk", "\(reading.rawValue) is not about a disk; leave out disk (\(disk))")
            return nil
        }
        if let disk, !disk.contains("${"), let vm, let spec = context.vmSpec(vm), disk != HostReading.rootDisk, !spec.disks.contains(where: { $0.name == disk }) {
            let known = [HostReading.rootDisk] + spec.disks.map(\.name)
            m.fail("disk", "VM \(vm) has no disk '\(disk)' (disks: \(known.joined(separator: ", ")))")
            return nil
        }
        return HostMeasure(reading: reading, vm: vm, disk: disk)
    }

    public func substituted(_ values: [String: String]) throws -> HostMeasure {
        HostMeasure(reading: reading, vm: try vm.map { try substitute($0, values) }, disk: try disk.map { try substitute($0, values) })
    }

    public func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?) {
        (try await lab.hostReading(reading, vm: vm, disk: disk), nil)
    }

    public var vms: [String] { vm.map { [$0] } ?? [] }
}
