import Crypto
import Foundation
import LabModel
import LabStore
import VMLabSupport

/// Builds images from recipes with supermin, once per content digest.
public struct ImageBuilder: Sendable {
    public let store: ImageStore
    public let progress: ProgressReporter

    public init(home: VMLabHome, progress: @escaping ProgressReporter = { _ in }) {
        store = ImageStore(home: home)
        self.progress = progress
    }

    /// Returns the image for `recipe`, building it only when no image with the same
    /// content digest exists (`cached` says which happened).
    public func build(_ recipe: ImageRecipe, force: Bool = false) async throws -> (image: BuiltImage, cached: Bool) {
        let kernel = try HostKernel.find()
        let packages = recipe.packages(kernelRelease: kernel.release)
        let (versions, missing) = try await InstalledPackages.query().closure(of: packages)
        guard missing.isEmpty else {
            throw VMLabError(.unavailable, "host packages needed by image \(recipe.name) are not installed: "
                + "\(missing.joined(separator: " ")); install them with `apt-get install \(missing.joined(separator: " "))` "
                + "or run scripts/setup.sh")
        }
        let digest = try Self.digest(recipe: recipe, kernelRelease: kernel.release, versions: versions)
        if !force, let existing = store.image(digest: digest) {
            progress("image \(recipe.name): cache hit (\(existing.shortDigest))")
            return (existing, true)
        }
        // One build of an image at a time: a second vmlab (two `lab start`s at once) waits,
        // then finds the image the first one built.
        let lock = try await OwnerLock.waitAndAcquire("image-\(digest.prefix(16))", in: store.root.appendingPathComponent(".locks"))
        defer { withExtendedLifetime(lock) {} }
        if !force, let existing = store.image(digest: digest) {
            progress("image \(recipe.name): built meanwhile by another vmlab (\(existing.shortDigest))")
            return (existing, true)
        }

        let started = Date()
        let fm = FileManager.default
        try fm.createDirectory(at: store.root, withIntermediateDirectories: true)
        let work = store.root.appendingPathComponent(".build-\(digest.prefix(12))-\(getpid())")
        try? fm.removeItem(at: work)
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        progress("image \(recipe.name): assembling /init, files and links")
        let extra = try makeExtraTarball(recipe, in: work)
        progress("image \(recipe.name): supermin --prepare (\(packages.count) packages and their dependencies)")
        let prep = work.appendingPathComponent("prep")
        try await Subprocess.run(["supermin", "--prepare", "-o", prep.path] + packages)
        progress("image \(recipe.name): supermin --build (ext2 root, \(recipe.rootSize >> 20) MiB)")
        let out = work.appendingPathComponent("out")
        try await Subprocess.run(["supermin", "--build", "--format", "ext2", "--size", "\(recipe.rootSize >> 20)M",
                                  "--host-cpu", "x86_64", "-o", out.path, prep.path, extra.path],
                                 environment: ["SUPERMIN_KERNEL": kernel.image.path])
        progress("image \(recipe.name): converting the root filesystem to qcow2")
        let staged = work.appendingPathComponent("image")
        try fm.createDirectory(at: staged, withIntermediateDirectories: true)
        let disk = staged.appendingPathComponent("disk.qcow2")
        try await Subprocess.run(["qemu-img", "convert", "-O", "qcow2", out.appendingPathComponent("root").path, disk.path])
        try fm.copyItem(at: kernel.image, to: staged.appendingPathComponent("kernel"))
        progress("image \(recipe.name): boot initrd with \(BootInitrd.modules.count) modules and their dependencies")
        try BootInitrd.make(superminInitrd: try Data(contentsOf: out.appendingPathComponent("initrd")),
                            moduleDirectory: URL(fileURLWithPath: "/lib/modules/\(kernel.release)"))
            .write(to: staged.appendingPathComponent("initrd"))

        let manifest = ImageManifest(
            name: recipe.name, digest: digest, recipe: recipe.source.lastPathComponent,
            kernelRelease: kernel.release, packages: versions,
            diskBytes: fileSize(disk), kernelBytes: fileSize(staged.appendingPathComponent("kernel")),
            initrdBytes: fileSize(staged.appendingPathComponent("initrd")),
            kernelArguments: recipe.kernelArguments, builtAt: Date(),
            buildSeconds: (Date().timeIntervalSince(started) * 10).rounded() / 10)
        try ImageStore.encoder.encode(manifest).write(to: staged.appendingPathComponent("manifest.json"))
        // Guests share the base read-only through their overlays: nobody may write it.
        try fm.setAttributes([.posixPermissions: 0o444], ofItemAtPath: disk.path)

        let final = store.root.appendingPathComponent(digest)
        try? fm.removeItem(at: final)
        try fm.moveItem(at: staged, to: final)
        progress("image \(recipe.name): built \(String(digest.prefix(12))) in \(manifest.buildSeconds) s")
        return (BuiltImage(manifest: manifest, directory: final), false)
    }

    /// sha256 over everything that decides the image's content.
    static func digest(recipe: ImageRecipe, kernelRelease: String, versions: [String: String]) throws -> String {
        var hash = SHA256()
        func add(_ label: String, _ data: Data) {
            hash.update(data: Data("\(label)\0\(data.count)\0".utf8))
            hash.update(data: data)
        }
        add("recipe", try Data(contentsOf: recipe.source))
        for (guestPath, file) in recipe.payload {
            add("file:\(guestPath)", try Data(contentsOf: file))
        }
        add("kernel", Data(kernelRelease.utf8))
        add("initrd-modules", Data(BootInitrd.modules.joined(separator: " ").utf8))
        add("versions", Data(versions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n").utf8))
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The tarball supermin unpacks over the root: /init, extra files and links, owned by root.
    private func makeExtraTarball(_ recipe: ImageRecipe, in work: URL) throws -> URL {
        let fm = FileManager.default
        let tree = work.appendingPathComponent("extra")
        for (guestPath, hostFile) in recipe.payload {
            let dest = tree.appendingPathComponent(String(guestPath.dropFirst()))
            try fm.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.copyItem(at: hostFile, to: dest)
            let executable = fm.isExecutableFile(atPath: hostFile.path) || guestPath == "/init"
            try fm.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: dest.path)
        }
        for (guestPath, target) in recipe.links.sorted(by: { $0.key < $1.key }) {
            let dest = tree.appendingPathComponent(String(guestPath.dropFirst()))
            try fm.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: dest.path, withDestinationPath: target)
        }
        let tarball = work.appendingPathComponent("extra.tar.gz")
        try Subprocess.runBlocking(["tar", "-C", tree.path, "--owner=0", "--group=0", "-czf", tarball.path, "."])
        return tarball
    }
}

package func fileSize(_ url: URL) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.uint64Value ?? 0
}
