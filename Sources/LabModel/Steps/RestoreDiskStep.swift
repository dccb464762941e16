import Foundation
import VMLabSupport
import Yams

/// `restore-disk: {from, snapshot, disks, into}`: powers VM `into` off if it runs (a power
/// cut: its own state is about to be overwritten), then copies the named disks of VM
/// `from`'s disk snapshot over the same-named disks of `into`; `start` then boots a fresh
/// VM on the snapshot's data, as a restore from backup would, while `from` runs on.
public struct RestoreDiskStep: StepKind, Equatable {
    public static let key = "restore-disk"
    public static let form = "`{from: VM, snapshot, disks: [NAME...], into: VM}`"
    public static let summary = "powers VM `into` off and copies disks of a `disk-snapshot` over its same-named disks (boot it with `start`)"
    public static let schema = Schema.object(required: ["from", "snapshot", "disks", "into"], [
        "from": Schema.ref("vmRef"),
        "snapshot": Schema.ref("text"),
        "disks": ["type": "array", "minItems": 1, "items": ["type": "string"]],
        "into": Schema.ref("vmRef"),
    ])

    public var from: String
    public var snapshot: String
    public var disks: [String]
    public var into: String

    public init(from: String, snapshot: String, disks: [String], into: String) {
        self.from = from
        self.snapshot = snapshot
        self.disks = disks
        self.into = into
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> RestoreDiskStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let from = m.string("from", required: true).flatMap { context.checkVM($0, m.value("from"), m.field("from")) ? $0 : nil }
        let into = m.string("into", required: true).flatMap { context.checkVM($0, m.value("into"), m.field("into")) ? $0 : nil }
        let snapshot = context.requiredText(m, "snapshot")
        let disks = m.stringList("disks")
        if m.value("disks") == nil { m.fail("disks", "is required: the disks to restore, by name") }
        else if disks.isEmpty { m.fail("disks", "name at least one disk") }
        if let from, let into, from == into {
            m.fail("into", "restore into another VM than \(from): a fresh VM boots from the copy while \(from) runs on")
        }
        for vm in [from, into].compactMap({ $0 }) {
            guard let spec = context.vmSpec(vm) else { continue }
            for disk in disks {
                guard let d = spec.disks.first(where: { $0.name == disk }) else {
                    m.fail("disks", "VM \(vm) has no data disk '\(disk)' (disks: \(spec.disks.map(\.name).joined(separator: ", ")))")
                    continue
                }
                if vm == into, let from, let into, let source = context.vmSpec(from)?.disks.first(where: { $0.name == disk }),
                   source.sizeBytes != d.sizeBytes {
                    m.fail("disks", "disk \(disk) is \(d.sizeBytes) bytes on \(into) but \(source.sizeBytes) on \(from); give both the same size")
                }
            }
        }
        guard let from, let into, !snapshot.isEmpty, !disks.isEmpty else { return nil }
        return RestoreDiskStep(from: from, snapshot: snapshot, disks: disks, into: into)
    }

    public func check() throws(StepProblem) {
        guard Naming.isValidName(snapshot) else {
            throw StepProblem("snapshot", "'\(snapshot)' must be lowercase letters, digits and dashes, starting with a letter")
        }
    }

    public func substituted(_ values: [String: String]) throws -> RestoreDiskStep {
        RestoreDiskStep(from: try substitute(from, values), snapshot: try substitute(snapshot, values),
                        disks: try disks.map { try substitute($0, values) }, into: try substitute(into, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await lab.restoreDisks(from: from, snapshot: snapshot, disks: disks, into: into)
        return nil
    }

    public var vms: [String] { [from, into] }
    public var detail: String { "\(from): restore \(snapshot) (\(disks.joined(separator: ", "))) into \(into)" }
}

extension Step {
    public static func restoreDisk(from: String, snapshot: String, disks: [String], into: String) -> Step {
        Step(RestoreDiskStep(from: from, snapshot: snapshot, disks: disks, into: into))
    }
}
