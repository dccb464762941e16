import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LabModel
import Libvirt
import VMLabSupport

/// Where a guest's kernel, initrd and root image are on the host that runs it.
public struct ImagePaths: Sendable, Equatable {
    public var disk: String
    public var kernel: String
    public var initrd: String
    public init(disk: String, kernel: String, initrd: String) {
        self.disk = disk
        self.kernel = kernel
        self.initrd = initrd
    }
}

/// vmlab's storage pool on a `pool` host (`HostStorage.pool`): images uploaded once through
/// libvirt's storage API and named by their digest, and the volumes of lab instances.
///
/// Uploaded once, and never half: an image is three volumes, `<digest>-disk.qcow2`,
/// `<digest>-kernel` and `<digest>-initrd`, plus a marker volume `<digest>-complete` made
/// only after all three uploads finished (libvirt's stream was finished, so the host wrote
/// every byte) and each volume's length on the host equals the local file's. The length
/// alone proves nothing: libvirt creates a volume at its full length before the first
/// byte arrives. An upload cut off half-way (vmlab killed, the link lost, the timeout)
/// leaves no marker, so the next use deletes what is there and uploads again. The volume
/// names carry the image digest (the content address of the recipe, its files, the kernel
/// and the package versions), and a content check on the host would cost a download of the
/// whole image; what is checked is the marker and the lengths. Two uploads of one image to
/// one host (two replays, or two vmlab processes of the home) are serialised by a lock
/// file in the home, taken before the marker is looked at.
public struct HostVolumes: Sendable {
    public let connection: Connection
    /// The pool's folder on the host.
    public let path: String
    /// Where the upload locks live (the vmlab home's locks folder); nil to list and delete only.
    public let locks: URL?
    /// The longest one image upload may take.
    public var uploadTimeout: Duration = .seconds(600)

    public init(connection: Connection, path: String, locks: URL? = nil) {
        self.connection = connection
        self.path = path
        self.locks = locks
    }

    /// The three volumes of an image, by the local file each is uploaded from.
    public static func imageVolumes(_ image: BuiltImage) -> [(name: String, file: URL)] {
        let digest = image.manifest.digest
        return [("\(digest)-disk.qcow2", image.disk), ("\(digest)-kernel", image.kernel), ("\(digest)-initrd", image.initrd)]
    }

    /// The marker volume whose presence says an image's upload completed.
    public static func markerVolume(digest: String) -> String { "\(digest)-complete" }

    /// The digest a volume name belongs to when it is an image's marker, else nil.
    public static func digest(ofMarker name: String) -> String? {
        let suffix = "-complete"
        guard name.hasSuffix(suffix), !name.hasPrefix(Naming.prefix) else { return nil }
        let digest = String(name.dropLast(suffix.count))
        return digest.isEmpty || !digest.allSatisfy({ $0.isHexDigit }) ? nil : digest
    }

    /// The volume of a lab instance's disk: `vmlab-HOME-INSTANCE-VM[-DISK].qcow2`. The pool is
    /// shared by every vmlab home that uses the host, so the name carries the home's tag
    /// (`homeTag`) as well as the instance: `gc` finds its own home's volumes whose records
    /// were lost (an instance lost with its host, a store restored) and never another's.
    /// `disk` nil: the root overlay.
    public static func instanceVolume(home: String, instance: String, vm: String, disk: String? = nil) -> String {
        "\(Naming.prefix)\(home)-\(instance)-\(vm)\(disk.map { "-\($0)" } ?? "").qcow2"
    }

    /// A home's tag in its volume names: the first eight characters of `VMLabHome.identity()`
    /// (a UUID's leading hex digits), lowercased.
    public static func homeTag(_ identity: String) -> String {
        String(identity.lowercased().filter { $0.isHexDigit }.prefix(8))
    }

    /// The instance a volume belongs to when it is an instance volume (a disk or a console
    /// log) of the home `homeTag` (`vmlab-HOME-INSTANCE-…`), else nil.
    public static func instance(ofVolume name: String, homeTag: String) -> String? {
        let prefix = "\(Naming.prefix)\(homeTag)-"
        guard !homeTag.isEmpty, name.hasPrefix(prefix), name.hasSuffix(".qcow2") || isConsoleLog(name) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let instance = String(rest.prefix(8))
        guard Naming.isInstanceID(instance), rest.dropFirst(8).first == "-" else { return nil }
        return instance
    }

    /// What to do with an image on a host: `reuse` when the marker is there and each volume
    /// has its file's length; else delete what is there (marker first) and upload again.
    public enum UploadPlan: Sendable, Equatable {
        case reuse
        case upload(deleteFirst: [String])
    }

    /// The "already uploaded" decision (see the type's note). `present`: volume name ->
    /// its length on the host, for the volumes of this image found in the pool.
    public static func plan(marker: String, expected: [String: UInt64], present: [String: UInt64]) -> UploadPlan {
        if present[marker] != nil, expected.allSatisfy({ present[$0.key] == $0.value }) { return .reuse }
        let stale = present.keys.filter { $0 != marker }.sorted()
        return .upload(deleteFirst: (present[marker] != nil ? [marker] : []) + stale)
    }

    // MARK: the pool

    /// vmlab's pool on the host, defined, built and started on first use.
    public func pool() throws -> StoragePool {
        if let pool = try connection.lookupStoragePool(named: HostStorage.poolName) {
            if try !pool.isActive() {
                try? pool.build()
                try pool.start()
            }
            return pool
        }
        let pool: StoragePool
        do {
            pool = try connection.defineStoragePool(xml: Self.poolXML(name: HostStorage.poolName, path: path))
        } catch {
            // Another process defined it meanwhile.
            guard let raced = try connection.lookupStoragePool(named: HostStorage.poolName) else { throw error }
            return raced
        }
        try pool.build()
        if try !pool.isActive() { try pool.start() }
        try pool.setAutostart(true)
        return pool
    }

    /// Digests of the images whose upload completed on the host (their marker is there).
    public func imagesPresent() throws -> [String] {
        guard let pool = try connection.lookupStoragePool(named: HostStorage.poolName), try pool.isActive() else { return [] }
        return try pool.volumes().compactMap { Self.digest(ofMarker: $0.name) }.sorted()
    }

    // MARK: images

    /// The image's volumes on the host, uploaded first unless a complete upload is there.
    public func ensureImage(_ image: BuiltImage, progress: @escaping ProgressReporter = { _ in }) async throws -> ImagePaths {
        let digest = image.manifest.digest
        guard let locks else { throw VMLabError(.invalidState, "HostVolumes made without a locks folder cannot upload") }
        let lock = try await OwnerLock.waitAndAcquire(Self.uploadLock(uri: (try? connection.uri()) ?? path, digest: digest),
                                                      in: locks)
        defer { withExtendedLifetime(lock) {} }
        let timeout = uploadTimeout
        return try await offPool { [self] in
            let pool = try self.pool()
            let volumes = Self.imageVolumes(image)
            let marker = Self.markerVolume(digest: digest)
            var expected: [String: UInt64] = [:]
            for volume in volumes { expected[volume.name] = try Self.fileLength(volume.file) }
            let claim = Self.claimVolume(digest: digest)
            let deadline = ContinuousClock.now + timeout
            while true {
                var present: [String: UInt64] = [:]
                for name in volumes.map(\.name) + [marker] {
                    if let volume = try pool.lookupVolume(named: name) { present[name] = try volume.sizes().physical }
                }
                guard case .upload(let stale) = Self.plan(marker: marker, expected: expected, present: present) else { break }
                // Another vmlab home may be uploading the same image to this host right now.
                guard try Self.claimUpload(pool, claim: claim, staleAfter: timeout) else {
                    guard ContinuousClock.now < deadline else {
                        throw VMLabError(.busy, "image \(image.manifest.name)@\(image.shortDigest) has been uploading to "
                            + "\(hostName) for \(timeout.components.seconds) s by another vmlab (volume \(claim)); if no "
                            + "upload runs, remove it (`virsh vol-delete --pool \(HostStorage.poolName) \(claim)`) and try again")
                    }
                    Thread.sleep(forTimeInterval: 2)
                    continue
                }
                do {
                    for name in stale { try pool.lookupVolume(named: name)?.delete() }
                    let started = ContinuousClock.now
                    let total = expected.values.reduce(0, +)
                    progress("uploading image \(image.manifest.name)@\(image.shortDigest) (\(total >> 20) MiB) into pool "
                             + "\(HostStorage.poolName) of \(hostName)")
                    for volume in volumes {
                        let made = try pool.createVolume(xml: Self.uploadVolumeXML(name: volume.name, bytes: expected[volume.name]!))
                        try made.upload(from: volume.file, timeout: timeout - (ContinuousClock.now - started))
                        let written = try made.sizes().physical
                        guard written == expected[volume.name] else {
                            throw VMLabError(.failed, "volume \(volume.name) holds \(written) bytes after its upload, not the "
                                             + "\(expected[volume.name]!) of \(volume.file.path); run the command again to upload it anew")
                        }
                    }
                    _ = try pool.createVolume(xml: Self.markerVolumeXML(name: marker))
                    progress(String(format: "uploaded image \(image.manifest.name)@\(image.shortDigest) in %.1f s",
                                    (ContinuousClock.now - started).seconds))
                } catch {
                    try? pool.lookupVolume(named: claim)?.delete()
                    throw error
                }
                try? pool.lookupVolume(named: claim)?.delete()
                break
            }
            func path(_ name: String) throws -> String {
                guard let volume = try pool.lookupVolume(named: name) else {
                    throw VMLabError(.notFound, "volume \(name) vanished from pool \(HostStorage.poolName) right after its check")
                }
                return try volume.path()
            }
            return ImagePaths(disk: try path(volumes[0].name), kernel: try path(volumes[1].name), initrd: try path(volumes[2].name))
        }
    }

    /// The volume an uploader of an image makes on the host before it uploads, and removes
    /// after: the upload lock serialises this home's processes, the claim those of every home
    /// sharing the pool. Without it, a second home would take a first's half-sent volumes
    /// for stale ones and delete them, and the first could then mark the second's half-sent
    /// image complete.
    public static func claimVolume(digest: String) -> String { "\(digest)-uploading" }

    /// Makes the claim volume; false while another uploader holds it. A claim older than
    /// `staleAfter` (its uploader was killed) is taken over.
    static func claimUpload(_ pool: StoragePool, claim: String, staleAfter: Duration) throws -> Bool {
        if let held = try pool.lookupVolume(named: claim) {
            guard let made = modificationTime(ofVolumeXML: try held.xmlDescription()),
                  Date().timeIntervalSince(made) > staleAfter.seconds else { return false }
            try? held.delete()
        }
        do {
            _ = try pool.createVolume(xml: markerVolumeXML(name: claim))
            return true
        } catch {
            if try pool.lookupVolume(named: claim) != nil { return false }
            throw error
        }
    }

    /// The `<target><timestamps><mtime>` of a volume's XML description (seconds since the
    /// epoch, with a fraction), if the pool reports one.
    static func modificationTime(ofVolumeXML xml: String) -> Date? {
        guard let document = try? XMLDocument(xmlString: xml, options: []),
              let text = try? document.nodes(forXPath: "/volume/target/timestamps/mtime").first?.stringValue,
              let seconds = Double(text.trimmingCharacters(in: .whitespaces)) else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    /// What `removeImage` did on one host.
    public enum Removal: Sendable, Equatable {
        case removed
        case absent
        /// Volumes (of any vmlab home) whose backing file is the image's disk: the image stays.
        case inUse(by: [String])
    }

    /// Removes an uploaded image from the host (marker first, so a half-removed image is
    /// never taken for a complete one) unless a volume still has it beneath it: the pool is
    /// shared by every vmlab home using the host, and another home's guest may run on it.
    public func removeImage(digest: String) throws -> Removal {
        guard let pool = try connection.lookupStoragePool(named: HostStorage.poolName), try pool.isActive() else { return .absent }
        let marker = Self.markerVolume(digest: digest)
        let own = Set([marker, "\(digest)-disk.qcow2", "\(digest)-kernel", "\(digest)-initrd"])
        let all = try pool.volumes()
        let present = all.filter { own.contains($0.name) }
        guard !present.isEmpty else { return .absent }
        if let disk = present.first(where: { $0.name == "\(digest)-disk.qcow2" }) {
            let diskPath = try disk.path()
            let users = try all.filter { !own.contains($0.name) }.filter { volume in
                Self.backingPath(ofVolumeXML: try volume.xmlDescription()) == diskPath
            }.map(\.name)
            if !users.isEmpty { return .inUse(by: users.sorted()) }
        }
        for volume in present where volume.name == marker { try volume.delete() }
        for volume in present where volume.name != marker { try volume.delete() }
        return .removed
    }

    /// `removeImage` on the host at `uri`, opened within `openTimeout`.
    public static func removeImage(digest: String, from uri: String, poolPath: String,
                                   openTimeout: Duration = .seconds(10)) async throws -> Removal {
        try await offPool {
            let connection = try Connection(uri: uri, openTimeout: openTimeout)
            defer { connection.close() }
            return try HostVolumes(connection: connection, path: poolPath).removeImage(digest: digest)
        }
    }

    /// The `<backingStore><path>` of a volume's XML description, if any.
    static func backingPath(ofVolumeXML xml: String) -> String? {
        guard let document = try? XMLDocument(xmlString: xml, options: []),
              let path = try? document.nodes(forXPath: "/volume/backingStore/path").first else { return nil }
        return path.stringValue
    }

    // MARK: instance volumes

    /// A qcow2 overlay volume on the image's disk volume (`backing`: its path on the host).
    public func createOverlay(named name: String, backing: String, capacityBytes: UInt64) throws -> String {
        try pool().createVolume(xml: Self.qcow2VolumeXML(name: name, capacityBytes: capacityBytes, backing: backing)).path()
    }

    /// An empty qcow2 volume of `capacityBytes` (a lab VM's extra disk).
    public func createDisk(named name: String, capacityBytes: UInt64) throws -> String {
        try pool().createVolume(xml: Self.qcow2VolumeXML(name: name, capacityBytes: capacityBytes, backing: nil)).path()
    }

    /// Deletes the volume if it is there; no pool, no volume: nothing to do.
    public func deleteVolume(named name: String) throws {
        guard let pool = try connection.lookupStoragePool(named: HostStorage.poolName) else { return }
        if try !pool.isActive() { try pool.start() }
        try pool.lookupVolume(named: name)?.delete()
    }

    /// Names of the volumes of lab instances (vmlab-*) in the pool now (after a rescan:
    /// virtlogd and saves write files libvirt's pool does not know of).
    public func instanceVolumes() throws -> [String] {
        guard let pool = try connection.lookupStoragePool(named: HostStorage.poolName), try pool.isActive() else { return [] }
        try pool.refresh()
        return try pool.volumes().map(\.name).filter { $0.hasPrefix(Naming.prefix) }.sorted()
    }

    // MARK: XML and helpers

    /// A `dir` pool: a folder on the host.
    static func poolXML(name: String, path: String) -> String {
        XMLTree("pool", ["type": "dir"], children: [
            XMLTree("name", text: name),
            XMLTree("target", children: [XMLTree("path", text: path)]),
        ]).render()
    }

    static func uploadVolumeXML(name: String, bytes: UInt64) -> String {
        XMLTree("volume", children: [
            XMLTree("name", text: name),
            XMLTree("capacity", ["unit": "bytes"], text: String(bytes)),
            XMLTree("allocation", ["unit": "bytes"], text: "0"),
            XMLTree("target", children: [XMLTree("format", ["type": "raw"])]),
        ]).render()
    }

    static func markerVolumeXML(name: String) -> String {
        uploadVolumeXML(name: name, bytes: 0)
    }

    static func qcow2VolumeXML(name: String, capacityBytes: UInt64, backing: String?) -> String {
        XMLTree("volume", children: [
            XMLTree("name", text: name),
            XMLTree("capacity", ["unit": "bytes"], text: String(capacityBytes)),
            XMLTree("target", children: [XMLTree("format", ["type": "qcow2"])]),
        ] + (backing.map { [XMLTree("backingStore", children: [XMLTree("path", text: $0), XMLTree("format", ["type": "qcow2"])])] } ?? []))
            .render()
    }

    /// The lock of one image's upload to one host.
    static func uploadLock(uri: String, digest: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in uri.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return "upload-\(String(hash, radix: 16))-\(digest.prefix(16))"
    }

    static func fileLength(_ url: URL) throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// The virtual size of a qcow2 file (its header's size field, big-endian at byte 24).
    public static func qcow2VirtualSize(_ url: URL) throws -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw VMLabError(.notFound, "cannot read \(url.path)")
        }
        defer { try? handle.close() }
        let header = try handle.read(upToCount: 32) ?? Data()
        guard header.count >= 32, header.prefix(4) == Data([0x51, 0x46, 0x49, 0xfb]) else {
            throw VMLabError(.invalidInput, "\(url.path) is not a qcow2 image")
        }
        return header[24..<32].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
