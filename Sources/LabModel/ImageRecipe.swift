import Foundation
import VMLabSupport

/// An image recipe (Images/NAME.yaml): which host packages make up the guest, its /init,
/// extra files and the links supermin does not carry over.
public struct ImageRecipe: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Debian packages, taken from the host's archive by supermin (dependencies follow).
    /// `${kernel-release}` stands for the guest kernel's release (see `packages(kernelRelease:)`).
    public var packages: [String]
    /// The guest's /init script, relative to the recipe's folder.
    public var initScript: String
    /// Guest path -> file relative to the recipe's folder.
    public var files: [String: String]
    /// Guest path -> link target; recreates Debian's update-alternatives links (awk, nc)
    /// that supermin leaves out.
    public var links: [String: String]
    /// Size of the root filesystem in bytes (sparse; the qcow2 grows as it is used).
    public var rootSize: UInt64
    /// Extra kernel command-line words.
    public var kernelArguments: String
    /// Where the recipe was read from.
    public var source: URL

    /// Reads and validates a recipe; every problem comes back with file:line: field.
    /// Packages every image needs, with the reason an author is told when one is missing.
    static let requiredPackages: KeyValuePairs = [
        "dash": "the guest's /init runs on it",
        "mount": "the guest's /init mounts the root and /proc with it",
        "qemu-guest-agent": "vmlab reaches the guest only through the agent",
        "bash": "every exec runs under a bash wrapper that bounds its output",
        "coreutils": "the exec wrapper cuts output with its head",
    ]

    public static func load(_ url: URL) throws -> ImageRecipe {
        let (reader, top) = try SpecReader.load(url)
        let dir = url.deletingLastPathComponent()
        let name = top.string("name", required: true) ?? ""
        if !name.isEmpty, !Naming.isValidName(name) {
            top.fail("name", "'\(name)' must be lowercase letters, digits and dashes, starting with a letter")
        }
        if !name.isEmpty, name != url.deletingPathExtension().lastPathComponent {
            top.fail("name", "'\(name)' differs from the file name \(url.lastPathComponent); make them match")
        }
        let packages = top.stringList("packages")
        if packages.isEmpty { top.fail("packages", "list at least one Debian package") }
        for package in packages {
            let bare = package.replacingOccurrences(of: Self.kernelReleaseReference, with: "")
            if bare.contains("$") || bare.contains(" ") {
                top.fail("packages", "'\(package)' is not a package name (the only reference allowed is \(kernelReleaseReference))")
            }
        }
        for (required, why) in Self.requiredPackages where !packages.isEmpty && !packages.contains(required) {
            top.fail("packages", "must include '\(required)' (\(why))")
        }
        let initScript = top.string("init", required: true) ?? ""
        /// guest path -> text, each guest path checked to be absolute (located at its own line).
        func pathMap(_ key: String) -> [String: String] {
            guard let entries = top.mapping(key) else { return [:] }
            var result: [String: String] = [:]
            for guestPath in entries.keys {
                guard let value = entries.string(guestPath, required: true) else { continue }
                if !guestPath.hasPrefix("/") { entries.fail(guestPath, "guest paths must be absolute") }
                result[guestPath] = value
            }
            return result
        }
        let files = pathMap("files")
        let links = pathMap("links")
        let rootSize = top.size("size") ?? 2 << 30
        let recipe = ImageRecipe(
            name: name,
            description: top.string("description") ?? "",
            packages: packages, initScript: initScript, files: files, links: links,
            rootSize: rootSize, kernelArguments: top.string("kernel-args") ?? "",
            source: url)
        func missing(_ relative: String) -> Bool {
            !relative.isEmpty && !FileManager.default.fileExists(atPath: dir.appendingPathComponent(relative).path)
        }
        if missing(initScript) {
            top.fail("init", "file \(dir.appendingPathComponent(initScript).path) does not exist")
        }
        if let filesReader = top.mapping("files") {
            for (guestPath, relative) in files.sorted(by: { $0.key < $1.key }) where missing(relative) {
                filesReader.fail(guestPath, "file \(dir.appendingPathComponent(relative).path) does not exist")
            }
        }
        top.finish()
        try reader.check()
        return recipe
    }

    /// How a package name refers to the release of the kernel the guests boot
    /// (`linux-headers-${kernel-release}`): the headers must match the guest kernel exactly.
    public static let kernelReleaseReference = "${kernel-release}"

    /// The package names with `${kernel-release}` replaced by `kernelRelease`.
    public func packages(kernelRelease: String) -> [String] {
        packages.map { $0.replacingOccurrences(of: Self.kernelReleaseReference, with: kernelRelease) }
    }

    /// The files the recipe pulls in, as guest path -> host file, /init included.
    public var payload: [(guestPath: String, hostFile: URL)] {
        let dir = source.deletingLastPathComponent()
        return [("/init", dir.appendingPathComponent(initScript))]
            + files.sorted { $0.key < $1.key }.map { ($0.key, dir.appendingPathComponent($0.value)) }
    }
}
