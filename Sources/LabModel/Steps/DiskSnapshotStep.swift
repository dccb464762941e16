import Foundation
import VMLabSupport
import Yams

/// `disk-snapshot: {vm, name, disks, quiesce: false, timeout: 30}`: a point-in-time copy of
/// some of a running VM's data disks, all at one instant, while the guest runs on (a libvirt
/// push backup). Without quiesce it is crash-consistent: what a power cut at that instant
/// would leave. With quiesce the guest is frozen through its agent first (its fsfreeze hooks
/// run: an application can flush and pause) and thawed as soon as the copy's instant is
/// fixed, whatever happens. `restore-disk` puts the copy into another VM.
public struct DiskSnapshotStep: StepKind, Equatable {
    public static let key = "disk-snapshot"
    public static let form = "`{vm, name, disks: [NAME...], quiesce: false, timeout: 30}`; `quiesce` may be `{when: TEXT, in: [VALUES]}`"
    public static let summary = "copies data disks of a running VM at one instant (crash-consistent; with `quiesce: true`, between fsfreeze and thaw, hooks cut off after `timeout`)"
    public static let schema = Schema.object(required: ["vm", "name", "disks"], [
        "vm": Schema.ref("vmRef"),
        "name": Schema.ref("text"),
        "disks": ["type": "array", "minItems": 1, "items": ["type": "string"], "description": "Data disks of the VM, by name."],
        "quiesce": ["oneOf": [
            ["type": ["boolean", "string"], "description": "true: freeze the guest's filesystems around the copy; may be ${param}."],
            Schema.object(required: ["when", "in"], [
                "when": ["type": "string", "description": "A text, usually ${param}."],
                "in": ["type": "array", "minItems": 1, "items": ["type": "string"]],
            ], description: "Quiesce when `when` is one of `in`: {when: \"${consistency}\", in: [filesystem, application]}."),
        ]],
        "timeout": Schema.ref("seconds"),
    ])

    public var vm: String
    public var name: String
    public var disks: [String]
    /// `true`/`false` (or yes/no, on/off), or `${param}` until substituted; with
    /// `quiesceIn`, the text whose membership in that list decides.
    public var quiesce: String
    /// `quiesce: {when: TEXT, in: [values]}`: quiesce when the text is one of these.
    public var quiesceIn: [String] = []
    public var timeoutSeconds: Int

    public init(vm: String, name: String, disks: [String], quiesce: String = "false", timeoutSeconds: Int = 30) {
        self.vm = vm
        self.name = name
        self.disks = disks
        self.quiesce = quiesce
        self.timeoutSeconds = timeoutSeconds
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> DiskSnapshotStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let name = context.requiredText(m, "name")
        let disks = m.stringList("disks")
        if m.value("disks") == nil { m.fail("disks", "is required: the data disks to copy, by name") }
        else if disks.isEmpty { m.fail("disks", "name at least one disk") }
        if let vm, let spec = context.vmSpec(vm) {
            for disk in disks where !spec.disks.contains(where: { $0.name == disk }) {
                let known = spec.disks.map(\.name)
                m.fail("disks", "VM \(vm) has no data disk '\(disk)' "
                       + (known.isEmpty ? "(declare one under vms.\(vm).disks)" : "(disks: \(known.joined(separator: ", ")))"))
            }
        }
        if Set(disks).count != disks.count { m.fail("disks", "a disk is named twice") }
        var quiesce = "false"
        var quiesceIn: [String] = []
        if let node = m.value("quiesce"), node.mapping != nil {
            if let q = context.fields(node, m.field("quiesce"), expected: "{when, in}") {
                quiesce = context.requiredText(q, "when")
                quiesceIn = q.stringList("in")
                if quiesceIn.isEmpty { q.fail("in", "list the values of `when` that quiesce") }
                q.finish()
            }
        } else {
            quiesce = context.optionalText(m, "quiesce") ?? "false"
        }
        let timeout = m.int("timeout", range: 1...600) ?? 30
        guard let vm, !name.isEmpty, !disks.isEmpty else { return nil }
        var step = DiskSnapshotStep(vm: vm, name: name, disks: disks, quiesce: quiesce, timeoutSeconds: timeout)
        step.quiesceIn = quiesceIn
        return step
    }

    public func check() throws(StepProblem) {
        guard Naming.isValidName(name) else {
            throw StepProblem("name", "'\(name)' must be lowercase letters, digits and dashes, starting with a letter")
        }
        _ = try quiesces()
    }

    /// The `quiesce` value as a truth value.
    func quiesces() throws(StepProblem) -> Bool {
        if !quiesceIn.isEmpty { return quiesceIn.contains(quiesce) }
        switch quiesce.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw StepProblem("quiesce", "expected true or false, got '\(quiesce)'")
        }
    }

    public func substituted(_ values: [String: String]) throws -> DiskSnapshotStep {
        var step = DiskSnapshotStep(vm: try substitute(vm, values), name: try substitute(name, values),
                                    disks: try disks.map { try substitute($0, values) }, quiesce: try substitute(quiesce, values),
                                    timeoutSeconds: timeoutSeconds)
        step.quiesceIn = try quiesceIn.map { try substitute($0, values) }
        return step
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        let frozen = try await lab.vm(vm).snapshotDisks(name, disks: disks, quiesce: try quiesces(), hookTimeout: .seconds(timeoutSeconds))
        return String(format: "disks %@ copied as %@; guest frozen %.3f s", disks.joined(separator: ","), name, frozen)
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): disk snapshot \(name) of \(disks.joined(separator: ", "))\(quiesce == "false" ? "" : " (quiesce: \(quiesceIn.isEmpty ? quiesce : "\(quiesce) in \(quiesceIn.joined(separator: ","))"))")" }
}

extension Step {
    public static func diskSnapshot(vm: String, name: String, disks: [String], quiesce: Bool = false) -> Step {
        Step(DiskSnapshotStep(vm: vm, name: name, disks: disks, quiesce: quiesce ? "true" : "false"))
    }
}
