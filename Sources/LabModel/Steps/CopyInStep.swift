import Foundation
import VMLabSupport
import Yams

/// `copy-in: {vm, from, to}`: a file of the lab folder into a guest.
public struct CopyInStep: StepKind, Equatable {
    public static let key = "copy-in"
    public static let form = "`{vm, from, to}`"
    public static let summary = "host file (relative to the lab folder, and inside it or the course's shared `Labs/common/`, "
        + "named `../common/FILE`; must exist unless it contains `${`) "
        + "to an absolute guest path (its folder is created)"
    public static let schema = Schema.object(required: ["vm", "from", "to"], [
        "vm": Schema.ref("vmRef"),
        "from": ["type": "string", "minLength": 1, "pattern": "^[^/]", "description": "Host file, relative to the lab folder (or ../common/FILE)."],
        "to": Schema.ref("guestPath"),
    ])

    public var vm: String
    /// Relative to the lab folder.
    public var from: String
    /// Absolute path in the guest.
    public var to: String

    public static func read(_ value: Node, field: String, context: StepContext) -> CopyInStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let from = context.requiredText(m, "from")
        if !from.isEmpty, !from.contains("${") {
            do { _ = try LabFolder(labDirectory: context.labDirectory).file(from) } catch { m.fail("from", error.message) }
        }
        let to = context.requiredText(m, "to")
        guard let vm, !from.isEmpty, !to.isEmpty else { return nil }
        return CopyInStep(vm: vm, from: from, to: to)
    }

    public func check() throws(StepProblem) { try GuestPath.check(to, field: "to") }

    public func substituted(_ values: [String: String]) throws -> CopyInStep {
        CopyInStep(vm: try substitute(vm, values), from: try substitute(from, values), to: try substitute(to, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try check()
        let data = try lab.labFile(from)
        try await lab.vm(vm).install(data, at: to)
        return "\(data.count) bytes"
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): copy \(from) -> \(to)" }
}

extension Step {
    public static func copyIn(vm: String, from: String, to: String) -> Step { Step(CopyInStep(vm: vm, from: from, to: to)) }
}

/// Paths inside a guest are absolute: relative ones would depend on the agent's folder.
public enum GuestPath {
    public static func check(_ path: String, field: String) throws(StepProblem) {
        guard path.hasPrefix("/") else {
            throw StepProblem(field, "give an absolute path in the guest, like /root/\(path)")
        }
        guard !path.utf8.contains(0) else { throw StepProblem(field, "a guest path cannot contain a NUL byte") }
    }
}
