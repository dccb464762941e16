import ArgumentParser
import Foundation
import LabModel
import LabStore
import VMLabSupport

/// `--workspace DIR`: the folder a student edits for a lab with a workspace (default: the
/// one the instance was started with, else ./LAB-workspace).
struct WorkspaceOption: ParsableArguments {
    @Option(help: ArgumentHelp("Your workspace folder, for labs that have one (default: the one `lab start` was given, "
                               + "else ./LAB-workspace).", valueName: "dir"))
    var workspace: String?

    /// The workspace folder of `lab`, or nil when the lab has none: the flag's, else the
    /// folder `instance` was started with, else the default.
    func directory(for lab: LabSpec, instance: InstanceRecord? = nil) -> URL? {
        guard lab.workspace != nil else { return nil }
        if let workspace { return URL(fileURLWithPath: workspace, isDirectory: true) }
        if let remembered = instance?.workspace { return URL(fileURLWithPath: remembered, isDirectory: true) }
        return Workspace.defaultDirectory(lab: lab.name)
    }

    /// The workspace as it is now, read and checked, or nil when the lab has none.
    func read(for lab: LabSpec, instance: InstanceRecord? = nil) throws -> Workspace? {
        guard let spec = lab.workspace, let dir = directory(for: lab, instance: instance) else { return nil }
        return try Workspace.read(dir, spec: spec)
    }

    /// Makes the workspace with the lab's starter files when it does not exist yet.
    func prepare(for lab: LabSpec) throws {
        guard let spec = lab.workspace, let dir = directory(for: lab) else { return }
        let starter = try spec.starter.map { try LabFolder(labDirectory: lab.source.deletingLastPathComponent()).files(in: $0) } ?? [:]
        if try Workspace.create(dir, starterFiles: starter) {
            Output.progress("workspace \(dir.path) made with \(starter.count) starter file\(starter.count == 1 ? "" : "s"): edit them there")
        } else {
            Output.progress("workspace \(dir.path)")
        }
    }
}
