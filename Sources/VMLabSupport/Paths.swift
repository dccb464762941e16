import Foundation

/// Where vmlab keeps its state: `$VMLAB_HOME`, else `$XDG_DATA_HOME/vmlab`, else
/// `~/.local/share/vmlab`. Everything a run creates on disk lives below it.
public struct VMLabHome: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Resolves the home from the environment (see the type's comment).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> VMLabHome {
        if let explicit = env["VMLAB_HOME"], !explicit.isEmpty {
            return VMLabHome(root: URL(fileURLWithPath: explicit, isDirectory: true))
        }
        let data = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"] ?? NSHomeDirectory()) + "/.local/share"
        return VMLabHome(root: URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("vmlab"))
    }

    public var images: URL { root.appendingPathComponent("images", isDirectory: true) }
    public var guests: URL { root.appendingPathComponent("guests", isDirectory: true) }
    /// One folder per lab instance: its overlays and extra disks.
    public var instances: URL { root.appendingPathComponent("instances", isDirectory: true) }
    public var cache: URL { root.appendingPathComponent("cache", isDirectory: true) }
    public var database: URL { root.appendingPathComponent("vmlab.sqlite") }
    /// Owner locks: one writer per lab and per guest (see `OwnerLock`).
    public var locks: URL { root.appendingPathComponent("locks", isDirectory: true) }

    /// Creates the directory if needed and returns it.
    @discardableResult
    public func ensure(_ dir: URL) throws -> URL {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
