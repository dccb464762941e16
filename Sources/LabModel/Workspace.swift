import Foundation
import VMLabSupport

/// What a lab says of its workspace (`workspace:` in lab.yaml): a folder on the host the
/// student edits with their own editor, copied into guests by `copy-workspace` steps and
/// handed in at `submit` through artifacts with `workspace: FILE`. Its limits bound what a
/// student's folder may put into a guest or a bundle.
public struct WorkspaceSpec: Sendable, Equatable {
    /// Files the lab hands out (relative to the lab folder), copied into a new workspace.
    public var starter: String?
    public var maxFiles: Int
    public var maxBytes: Int
    /// Files VMs boot (`boot:` of a VM): read apart, under `BootSpec`'s larger limits, and
    /// neither counted in `maxFiles`/`maxBytes` nor copied by `copy-workspace`.
    public var bootFiles: Set<String> = []

    public static let defaultMaxFiles = 64
    public static let defaultMaxBytes = 1 << 20

    public init(starter: String? = nil, maxFiles: Int = defaultMaxFiles, maxBytes: Int = defaultMaxBytes) {
        self.starter = starter
        self.maxFiles = maxFiles
        self.maxBytes = maxBytes
    }
}

/// The files of a workspace at one moment: plain file name -> contents. Read from the
/// student's folder (bounded, checked) or, in a grading replay, made of the student's
/// handed-in artifacts, so a replay builds exactly what was submitted.
public struct Workspace: Sendable, Equatable {
    /// The files `copy-workspace` copies.
    public var files: [String: Data]
    /// Where it was read from (nil: made of a submission's artifacts).
    public var directory: URL?
    /// Kernels and initrds VMs boot (`boot:`), handed in with a submission; a folder's are
    /// read from it by `BootFiles`. Never copied into a guest.
    public var bootFiles: [String: Data]

    public init(files: [String: Data], directory: URL? = nil, bootFiles: [String: Data] = [:]) {
        self.files = files
        self.directory = directory
        self.bootFiles = bootFiles
    }

    /// The default folder of a lab's workspace: `./LAB-workspace`.
    public static func defaultDirectory(lab: String, in current: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> URL {
        current.appendingPathComponent("\(lab)-workspace", isDirectory: true)
    }

    /// Reads the regular files directly in `directory`. Names starting with `.` (editor and
    /// version-control files) are skipped; a symbolic link, a subfolder or any other kind of
    /// file is an error naming it (a link could point out of the folder), as are unsafe
    /// names and more than `spec.maxFiles` files or `spec.maxBytes` bytes in all. Boot files
    /// (`spec.bootFiles`) are left to `BootFiles`.
    public static func read(_ directory: URL, spec: WorkspaceSpec) throws -> Workspace {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VMLabError(.notFound, "workspace \(directory.path) does not exist; `vmlab lab start` makes it, "
                + "or pass --workspace DIR")
        }
        let names = try fm.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasPrefix(".") && !spec.bootFiles.contains($0) }.sorted()
        guard names.count <= spec.maxFiles else {
            throw VMLabError(.invalidInput, "workspace \(directory.path) holds \(names.count) files; this lab takes at most "
                + "\(spec.maxFiles): remove build output and copies")
        }
        var files: [String: Data] = [:]
        var total = 0
        for name in names {
            let url = directory.appendingPathComponent(name)
            if let problem = ArtifactName.problem(name) {
                throw VMLabError(.invalidInput, "workspace file \(url.path): \(problem); rename it")
            }
            let attributes = try fm.attributesOfItem(atPath: url.path)
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                let kind = (attributes[.type] as? FileAttributeType).map(kindName) ?? "not a regular file"
                throw VMLabError(.invalidInput, "workspace file \(url.path) is \(kind); a workspace holds only regular "
                    + "files, directly in it (copy the file in instead of linking it)")
            }
            let data = try BoundedFile.read(url, maxBytes: spec.maxBytes - total)
            total += data.count
            files[name] = data
        }
        return Workspace(files: files, directory: directory)
    }

    /// Makes a new workspace holding the starter files (an existing folder is left alone).
    /// Returns whether it was made.
    @discardableResult
    public static func create(_ directory: URL, starterFiles: [String: Data]) throws -> Bool {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory.path) else { return false }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, data) in starterFiles.sorted(by: { $0.key < $1.key }) {
            try data.write(to: directory.appendingPathComponent(name))
        }
        return true
    }

    private static func kindName(_ type: FileAttributeType) -> String {
        switch type {
        case .typeSymbolicLink: "a symbolic link"
        case .typeDirectory: "a folder"
        case .typeCharacterSpecial, .typeBlockSpecial: "a device"
        case .typeSocket: "a socket"
        default: "not a regular file"
        }
    }
}
