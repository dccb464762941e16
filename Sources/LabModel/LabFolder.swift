import Foundation
import VMLabSupport

/// The folder of a lab (Labs/NAME/) and the course's shared lab files (Labs/common/, named
/// from a lab as `../common/FILE`): the only host files a lab may put into a guest. Lab
/// files are instructor data, so a path may not leave those folders, not even through `..`
/// or a symlink.
public struct LabFolder: Sendable {
    public let labDirectory: URL
    /// Largest file a copy-in reads.
    public static let maxFileBytes = 64 << 20
    /// The folder beside the labs whose files every lab may copy in: scripts several labs
    /// share live once, not as copies that drift apart.
    public static let sharedFolderName = "common"

    public init(labDirectory: URL) { self.labDirectory = labDirectory }

    /// Labs/common/ of the lab's course.
    public var sharedDirectory: URL {
        labDirectory.deletingLastPathComponent().appendingPathComponent(Self.sharedFolderName, isDirectory: true)
    }

    /// The file `relativePath` names, resolved with symlinks followed; it must exist, be a
    /// regular file, and lie inside the lab folder or the shared folder.
    public func file(_ relativePath: String) throws(VMLabError) -> URL {
        guard !relativePath.hasPrefix("/") else {
            throw VMLabError(.invalidInput, "give a path relative to the lab folder, not an absolute one ('\(relativePath)')")
        }
        let roots = [labDirectory, sharedDirectory].map { $0.resolvingSymlinksInPath().standardizedFileURL.path }
        let file = labDirectory.appendingPathComponent(relativePath).resolvingSymlinksInPath().standardizedFileURL
        guard roots.contains(where: { file.path.hasPrefix($0 + "/") }) else {
            throw VMLabError(.invalidInput, "'\(relativePath)' resolves to \(file.path), outside the lab folder \(roots[0]) "
                             + "and the course's shared files \(roots[1]) (name those as ../\(Self.sharedFolderName)/FILE)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
            throw VMLabError(.notFound, "file \(labDirectory.appendingPathComponent(relativePath).path) does not exist "
                             + "(paths are relative to the lab folder)")
        }
        guard !isDirectory.boolValue else { throw VMLabError(.invalidInput, "\(file.path) is a folder, not a file") }
        return file
    }

    /// The folder `relativePath` names, inside the lab folder.
    public func directory(_ relativePath: String) throws(VMLabError) -> URL {
        let root = labDirectory.resolvingSymlinksInPath().standardizedFileURL.path
        let dir = labDirectory.appendingPathComponent(relativePath).resolvingSymlinksInPath().standardizedFileURL
        guard !relativePath.hasPrefix("/"), dir.path.hasPrefix(root + "/") else {
            throw VMLabError(.invalidInput, "'\(relativePath)' is not a folder inside the lab folder \(root)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VMLabError(.notFound, "folder \(dir.path) does not exist (paths are relative to the lab folder)")
        }
        return dir
    }

    /// The regular files directly in a folder of the lab (name -> contents): a workspace's starter files.
    public func files(in relativePath: String) throws -> [String: Data] {
        let dir = try directory(relativePath)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where !name.hasPrefix(".") {
            files[name] = try read(relativePath + "/" + name)
        }
        return files
    }

    /// Reads a file of the folder, at most `maxFileBytes`.
    public func read(_ relativePath: String) throws(VMLabError) -> Data {
        let url = try file(relativePath)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= Self.maxFileBytes else {
            throw VMLabError(.invalidInput, "\(url.path) has \(size) bytes; a lab file put into a guest has at most \(Self.maxFileBytes)")
        }
        do { return try Data(contentsOf: url) } catch {
            throw VMLabError(.notFound, "cannot read \(url.path)", cause: error)
        }
    }
}
