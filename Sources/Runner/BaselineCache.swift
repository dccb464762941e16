import Crypto
import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// Saved baselines: each VM of a lab right after setup, memory and disks, so that a later
/// start (a student's, or a grading replay) restores them in about a second per VM
/// instead of booting and running setup again.
///
/// - An entry is keyed by everything that decides the state after setup: the image, the
///   accelerator, the lab folder's files, the domain definitions vmlab writes, and the
///   parameter values setup reads (`LabSpec.setupInputs`). Per-student values that setup
///   does not read, and artifacts (installed after the restore), do not split the cache.
/// - libvirt restores a saved guest only under its own name and UUID, so an entry belongs
///   to a name slot (`InstanceRecord.slot`): the instance restored from it takes the
///   slot's names. A slot in use is skipped; a start that finds no free slot starts cold
///   and saves a new one, up to `slotsPerKey`, as many as run at once.
/// - Layout: `cache/baselines/<key>/<slot>/` with `entry.json`, `<vm>.state` and one qcow2
///   per disk. An entry is written under `.staging-<slot>` and renamed when whole.
/// - On a pool host (`storage: pool`) the states and disks are volumes of vmlab's pool
///   there (`HostVolumes.baselineDisk`), and the entry here holds only `entry.json`, which
///   names the host. The host is part of the key: its entries restore only there.
public struct BaselineCache: Sendable {
    public let home: VMLabHome
    /// Slots kept per key.
    public var slotsPerKey = 4
    /// All entries together stay under this; the least recently used go first.
    public var maxBytes: Int64 = 8 << 30

    public init(home: VMLabHome) { self.home = home }

    public var root: URL { home.cache.appendingPathComponent("baselines", isDirectory: true) }

    /// What an entry holds, beside its files.
    public struct Entry: Codable, Sendable, Equatable {
        public struct Disk: Codable, Sendable, Equatable {
            /// The path the saving instance had: the saved domain XML names it.
            public var original: String
            /// The file in the entry, or the volume on the entry's pool host.
            public var file: String
        }

        public var key: String
        public var slot: String
        public var lab: String
        public var imageDigest: String
        /// VM name -> its disks, vda first.
        public var disks: [String: [Disk]]
        public var createdAt: Date
        public var bytes: Int64
        /// The URI of the pool host whose volumes hold the states and disks; nil: files of
        /// the entry's folder.
        public var host: String?
        /// When a start last restored it (the file's modification time), for eviction.
        public var lastUsed: Date?
    }

    func folder(key: String, slot: String) -> URL {
        root.appendingPathComponent(key, isDirectory: true).appendingPathComponent(slot, isDirectory: true)
    }

    func stagingFolder(key: String, slot: String) -> URL {
        root.appendingPathComponent(key, isDirectory: true).appendingPathComponent(".staging-\(slot)", isDirectory: true)
    }

    /// The saved state file of one VM of an entry.
    func stateFile(_ entry: Entry, vm: String) -> URL {
        folder(key: entry.key, slot: entry.slot).appendingPathComponent("\(vm).state")
    }

    func diskFile(_ entry: Entry, _ disk: Entry.Disk) -> URL {
        folder(key: entry.key, slot: entry.slot).appendingPathComponent(disk.file)
    }

    // MARK: key

    /// Files of a lab folder that go into the key: at most this many, each at most `LabFolder.maxFileBytes`.
    static let maxKeyFiles = 2000

    /// The key of a lab's baseline, or nil when the lab folder is too large to fingerprint
    /// (then the lab always starts cold). `definitions` are the VMs' domain XML as vmlab
    /// writes it for a fixed placeholder slot, so a change in vmlab's definitions is a miss.
    /// `poolHost`: the URI of the pool host the entry's volumes will be on (nil: files here).
    public static func key(lab: LabSpec, imageDigest: String, accelerator: String, setupInputs: [String: String],
                           definitions: [String], poolHost: String? = nil) throws -> String? {
        var hash = SHA256()
        func add(_ text: String) {
            hash.update(data: Data("\(text.utf8.count):".utf8))
            hash.update(data: Data(text.utf8))
        }
        add("vmlab baseline 1")
        add(lab.name)
        add(imageDigest)
        add(accelerator)
        for (name, value) in setupInputs.sorted(by: { $0.key < $1.key }) { add("\(name)=\(value)") }
        for definition in definitions { add(definition) }
        if let poolHost { add("pool host \(poolHost)") }
        // The lab folder, and the course's shared files any lab may copy in.
        let labFolder = LabFolder(labDirectory: lab.source.deletingLastPathComponent())
        for (folder, prefix) in [(labFolder.labDirectory, ""), (labFolder.sharedDirectory, "../\(LabFolder.sharedFolderName)/")] {
            guard let files = try labFiles(folder) else { return nil }
            for file in files {
                add(prefix + file)
                let data = try BoundedFile.read(folder.appendingPathComponent(file), maxBytes: LabFolder.maxFileBytes)
                hash.update(data: Data("\(data.count):".utf8))
                hash.update(data: data)
            }
        }
        return hash.finalize().prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// Relative paths of the regular files under `folder`, sorted; nil past `maxKeyFiles`.
    static func labFiles(_ folder: URL) throws -> [String]? {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        let base = folder.standardizedFileURL.path + "/"
        var files: [String] = []
        for case let url as URL in walker {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            files.append(String(url.standardizedFileURL.path.dropFirst(base.count)))
            if files.count > maxKeyFiles { return nil }
        }
        return files.sorted()
    }

    // MARK: entries

    /// The whole entries of `key` (or of every key), most recently used first.
    public func entries(key: String? = nil) -> [Entry] {
        let fm = FileManager.default
        let keys = key.map { [$0] } ?? ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }
        var found: [Entry] = []
        for key in keys {
            let slots = (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(key).path)) ?? []
            for slot in slots where !slot.hasPrefix(".") {
                let file = folder(key: key, slot: slot).appendingPathComponent("entry.json")
                guard let data = try? BoundedFile.read(file, maxBytes: 1 << 20),
                      var entry = try? JSONCoding.decoder().decode(Entry.self, from: data),
                      entry.key == key, entry.slot == slot else { continue }
                entry.lastUsed = (try? fm.attributesOfItem(atPath: file.path)[.modificationDate]) as? Date
                found.append(entry)
            }
        }
        return found.sorted { ($0.lastUsed ?? .distantPast) > ($1.lastUsed ?? .distantPast) }
    }

    /// Marks an entry used now (eviction goes by it).
    func touch(_ entry: Entry) {
        let file = folder(key: entry.key, slot: entry.slot).appendingPathComponent("entry.json")
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: file.path)
    }

    /// Writes `entry.json` into the staging folder and puts the entry in place.
    func commit(_ entry: Entry) throws {
        let staging = stagingFolder(key: entry.key, slot: entry.slot)
        try JSONCoding.encoder().encode(entry).write(to: staging.appendingPathComponent("entry.json"))
        let final = folder(key: entry.key, slot: entry.slot)
        if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
        try FileManager.default.moveItem(at: staging, to: final)
    }

    /// Removes an entry unless an active instance uses its slot: that instance's disks are
    /// overlays on the entry's disks. Returns whether it went.
    /// `except`: an instance whose use does not count (the one that found the entry broken).
    /// A pool host's volumes go too when the host answers within 10 s; else they stay until
    /// `vmlab gc` reaches the host (without the entry, nothing owns them).
    @discardableResult
    public func remove(_ entry: Entry, store: Store, except: String? = nil) throws -> Bool {
        guard try !store.activeInstances().contains(where: { $0.slot == entry.slot && $0.id != except }) else { return false }
        try FileManager.default.removeItem(at: folder(key: entry.key, slot: entry.slot))
        if let uri = entry.host {
            try? Self.deleteVolumes(slot: entry.slot, on: uri, homeTag: HostVolumes.homeTag(try home.identity()))
        }
        return true
    }

    /// Deletes the volumes of a baseline slot on the pool host at `uri`.
    static func deleteVolumes(slot: String, on uri: String, homeTag: String) throws {
        let connection = try Connection(uri: uri, openTimeout: .seconds(10))
        defer { connection.close() }
        try HostVolumes(connection: connection, path: HostStorage.defaultPoolPath).deleteBaseline(homeTag: homeTag, slot: slot)
    }

    /// The least recently used entries go until all fit in `maxBytes`; entries in use stay.
    func evict(store: Store) throws {
        var all = entries()
        var total = all.reduce(0) { $0 + $1.bytes }
        while total > maxBytes, let oldest = all.popLast() {
            if try remove(oldest, store: store) { total -= oldest.bytes }
        }
    }

    /// The slots among `slots` that are owned: by a whole entry, or by a writer still saving
    /// it. (A pool host's baseline volumes that no slot owns are garbage.)
    public func owned(_ slots: some Sequence<String>) -> Set<String> {
        let whole = Set(entries().map(\.slot))
        return Set(slots.filter { whole.contains($0) || OwnerLock.isHeld("baseline-\($0)", in: home.locks) })
    }

    public func owns(slot: String) -> Bool { owned([slot]).contains(slot) }

    /// Staging folders of writers that died (their lock is free), and entries of images
    /// that are no longer built (`liveImages`: digests present now). Returns what went.
    public func collectGarbage(liveImages: Set<String>, store: Store, dryRun: Bool) throws -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        for key in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] {
            for name in (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(key).path)) ?? []
            where name.hasPrefix(".staging-") {
                let slot = String(name.dropFirst(".staging-".count))
                guard !OwnerLock.isHeld("baseline-\(slot)", in: home.locks) else { continue }
                let path = root.appendingPathComponent(key).appendingPathComponent(name)
                if !dryRun { try fm.removeItem(at: path) }
                removed.append(path.path)
            }
        }
        for entry in entries() where !liveImages.contains(entry.imageDigest) {
            let path = folder(key: entry.key, slot: entry.slot).path
            if try dryRun || remove(entry, store: store) { removed.append(path) }
        }
        return removed
    }
}
