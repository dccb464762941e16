import Foundation

/// How a libvirt host reaches vmlab's images and a lab instance's disks.
///
/// - `shared`: the host sees the vmlab home at the same path as this machine (the local
///   libvirtd, or hosts sharing the home over NFS): images, overlays and saved baselines are
///   files opened by path, and saved baselines are used.
/// - `pool`: the host sees nothing of this machine. Images reach it through libvirt's
///   storage API: a `dir` storage pool (`vmlab-images`, at `path` on the host) holds each
///   image once, as volumes named by its digest, uploaded on first use; a lab instance's
///   overlays and extra disks are volumes of that pool, removed with the instance. Every
///   start there is cold (no saved baselines), and a guest's serial console is not logged.
public enum HostStorage: Sendable, Equatable {
    case shared
    case pool(path: String)

    /// The pool folder on a host when hosts.yaml names none.
    public static let defaultPoolPath = "/var/lib/libvirt/vmlab"
    /// The name of vmlab's storage pool on a pool host.
    public static let poolName = "vmlab-images"

    /// `shared` for a URI whose daemon runs on this machine (no host part, as in
    /// qemu:///system or test:///default, or the unix transport, qemu+unix:///system);
    /// `pool` for any other (qemu+tcp://HOST/..., qemu+ssh://USER@HOST/..., qemu://HOST/...):
    /// a remote host cannot be assumed to see this machine's files.
    public static func `default`(for uri: String) -> HostStorage {
        isLocal(uri) ? .shared : .pool(path: defaultPoolPath)
    }

    /// Whether `uri` reaches a libvirtd on this machine (see `default(for:)`).
    public static func isLocal(_ uri: String) -> Bool {
        guard let schemeEnd = uri.range(of: "://") else { return true }
        let scheme = uri[..<schemeEnd.lowerBound]
        if scheme.hasSuffix("+unix") { return true }
        let rest = uri[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        let hostName = host.hasPrefix("[") ? String(host) : String(host.split(separator: ":").first ?? "")
        return hostName.isEmpty || hostName == "localhost"
    }

    /// The word hosts.yaml and `vmlab hosts` use.
    public var label: String {
        switch self {
        case .shared: "shared"
        case .pool: "pool"
        }
    }

    /// The pool folder on the host, for a pool host.
    public var poolPath: String? {
        if case .pool(let path) = self { return path }
        return nil
    }
}
