import Foundation
import VMLabSupport
import Yams

/// `copy-workspace: {vm, to}`: the student's workspace (the host folder they edit) into a
/// guest folder, file by file. The workspace is read bounded and checked (regular files
/// only, safe names, the lab's size and count limits); in a grading replay it is the
/// handed-in files, so the guest builds exactly what was submitted.
public struct CopyWorkspaceStep: StepKind, Equatable {
    public static let key = "copy-workspace"
    public static let form = "`{vm, to}`"
    public static let summary = "the student's workspace files (see `workspace`) into a guest folder (made first; "
        + "files already there are replaced, others are left)"
    public static let schema = Schema.object(required: ["vm", "to"], [
        "vm": Schema.ref("vmRef"),
        "to": Schema.ref("guestPath"),
    ])

    public var vm: String
    /// Absolute guest folder.
    public var to: String

    public static func read(_ value: Node, field: String, context: StepContext) -> CopyWorkspaceStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let to = context.requiredText(m, "to")
        guard let vm, !to.isEmpty else { return nil }
        return CopyWorkspaceStep(vm: vm, to: to)
    }

    public func check() throws(StepProblem) {
        try GuestPath.check(to, field: "to")
        if to.split(separator: "/").contains("..") { throw StepProblem("to", "a guest folder without '..'") }
    }

    public func substituted(_ values: [String: String]) throws -> CopyWorkspaceStep {
        CopyWorkspaceStep(vm: try substitute(vm, values), to: try substitute(to, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try check()
        let workspace = try lab.workspace()
        let guest = try lab.vm(vm)
        let folder = to.hasSuffix("/") ? String(to.dropLast()) : to
        for (name, data) in workspace.files.sorted(by: { $0.key < $1.key }) {
            // Names were checked when the workspace was read; a replay's come from the lab's artifact list.
            if let problem = ArtifactName.problem(name) { throw VMLabError(.invalidInput, "workspace file \(name): \(problem)") }
            try await guest.install(data, at: "\(folder)/\(name)")
        }
        let bytes = workspace.files.values.reduce(0) { $0 + $1.count }
        return "\(workspace.files.count) files, \(bytes) bytes: \(workspace.files.keys.sorted().joined(separator: " "))"
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): copy the workspace -> \(to)" }
}
