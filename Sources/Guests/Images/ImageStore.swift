import Foundation
import LabModel
import LabStore
import VMLabSupport

/// What a built image is: recorded next to its files so `image list` and the guests never
/// have to rebuild to know.
public struct ImageManifest: Codable, Sendable, Equatable {
    public var name: String
    /// Content address: the recipe, its files, the host kernel and the listed packages' versions.
    public var digest: String
    public var recipe: String
    public var kernelRelease: String
    /// Every package in the guest (dependencies included) with its version.
    public var packages: [String: String]
    public var diskBytes: UInt64
    public var kernelBytes: UInt64
    public var initrdBytes: UInt64
    public var kernelArguments: String
    public var builtAt: Date
    public var buildSeconds: Double
}

/// A built image on disk: `images/<digest>/{disk.qcow2,kernel,initrd,manifest.json}`.
public struct BuiltImage: Sendable, Equatable {
    public let manifest: ImageManifest
    public let directory: URL
    public var disk: URL { directory.appendingPathComponent("disk.qcow2") }
    public var kernel: URL { directory.appendingPathComponent("kernel") }
    public var initrd: URL { directory.appendingPathComponent("initrd") }
    /// The short form of the digest people see.
    public var shortDigest: String { String(manifest.digest.prefix(12)) }
}

/// The content-addressed image store under `$VMLAB_HOME/images`.
public struct ImageStore: Sendable {
    public let root: URL

    public init(home: VMLabHome) { root = home.images }

    /// Every complete image (a directory with a readable manifest), newest first.
    public func all() -> [BuiltImage] {
        let dirs = (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? []
        return dirs.compactMap { dir in
            guard !dir.lastPathComponent.hasPrefix("."),
                  let data = try? Data(contentsOf: dir.appendingPathComponent("manifest.json")),
                  let manifest = try? Self.decoder.decode(ImageManifest.self, from: data) else { return nil }
            return BuiltImage(manifest: manifest, directory: dir)
        }.sorted { $0.manifest.builtAt > $1.manifest.builtAt }
    }

    /// The image with this digest, if built.
    public func image(digest: String) -> BuiltImage? {
        all().first { $0.manifest.digest == digest }
    }

    /// The newest image of a recipe name, or one whose digest starts with `reference`.
    public func resolve(_ reference: String) throws -> BuiltImage {
        let images = all()
        if let byName = images.first(where: { $0.manifest.name == reference }) { return byName }
        let byDigest = images.filter { reference.count >= 6 && $0.manifest.digest.hasPrefix(reference) }
        if byDigest.count == 1 { return byDigest[0] }
        let known = Set(images.map(\.manifest.name)).sorted()
        throw VMLabError(.notFound, "no built image named '\(reference)'"
            + (known.isEmpty ? "; build one with `vmlab image build \(reference)`"
                             : " (built: \(known.joined(separator: ", "))); build it with `vmlab image build \(reference)`"))
    }

    /// Deletes an image's files.
    public func remove(_ image: BuiltImage) throws {
        try FileManager.default.removeItem(at: image.directory)
    }

    static let decoder = JSONCoding.decoder()
    static let encoder = JSONCoding.encoder()
}
