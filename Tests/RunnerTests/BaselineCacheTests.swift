import Foundation
@testable import LabModel
@testable import LabStore
@testable import Runner
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the saved-baseline cache without libvirt: what its key depends on, and how
/// entries are listed, put in place, protected while in use, evicted and collected.
@Suite("BaselineCache")
struct BaselineCacheTests {
    static let yaml = """
    title: t
    summary: s
    image: base
    parameters:
      size: {type: int, min: 1, max: 100, default: 10}
      rate: {type: int, min: 1, max: 9, default: 5}
    vms:
      box: {memory: 256M}
    setup:
      - copy-in: {vm: box, from: files/probe.sh, to: /root/probe.sh}
      - exec: {vm: box, command: "head -c ${size}k /dev/urandom > /root/data"}
    experiments:
      e:
        steps:
          - exec: {vm: box, command: "echo ${rate}"}
    """

    func lab(_ tmp: TempDir, probe: String = "#!/bin/sh\n") throws -> LabSpec {
        _ = try tmp.write("course/Images/base.yaml", "name: base\n")
        _ = try tmp.write("course/Labs/x/files/probe.sh", probe)
        let url = try tmp.write("course/Labs/x/lab.yaml", Self.yaml)
        return try LabSpec.load(url, imagesDirectory: tmp.path("course/Images"))
    }

    func key(_ lab: LabSpec, _ values: [String: String], image: String = "img1", accelerator: String = "tcg",
             definitions: [String] = ["<domain/>"], poolHost: String? = nil) throws -> String? {
        try BaselineCache.key(lab: lab, imageDigest: image, accelerator: accelerator,
                              setupInputs: try lab.setupInputs(values), definitions: definitions, poolHost: poolHost)
    }

    @Test func theKeyFollowsWhatSetupDependsOnAndNothingElse() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let lab = try lab(tmp)
        let values = ["size": "10", "rate": "5"]
        let base = try #require(try key(lab, values))
        #expect(try key(lab, values) == base, "the same inputs give the same key")
        #expect(try key(lab, ["size": "10", "rate": "9"]) == base, "a value only experiments read does not split it")
        #expect(try key(lab, ["size": "11", "rate": "5"]) != base)
        #expect(try key(lab, values, image: "img2") != base)
        #expect(try key(lab, values, accelerator: "kvm") != base)
        #expect(try key(lab, values, definitions: ["<domain><panic/></domain>"]) != base, "a new vmlab definition misses")
        let onHostA = try key(lab, values, poolHost: "qemu+tcp://198.18.1.1/system")
        let onHostB = try key(lab, values, poolHost: "qemu+tcp://198.18.1.2/system")
        #expect(onHostA != base && onHostA != onHostB,
                "a pool host's baselines are volumes there: each host has its own")
        _ = try tmp.write("course/Labs/x/files/probe.sh", "#!/bin/sh\necho changed\n")
        #expect(try key(lab, values) != base, "a changed lab file misses")
    }

    func entry(_ cache: BaselineCache, key: String, slot: String, bytes: Int64 = 10, image: String = "img1") throws -> BaselineCache.Entry {
        let entry = BaselineCache.Entry(key: key, slot: slot, lab: "x", imageDigest: image,
                                        disks: ["box": [.init(original: "/i/\(slot)/box.qcow2", file: "box.qcow2")]],
                                        createdAt: Date(timeIntervalSince1970: 1_800_000_000), bytes: bytes)
        let staging = cache.stagingFolder(key: key, slot: slot)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try Data(count: Int(bytes)).write(to: staging.appendingPathComponent("box.state"))
        try cache.commit(entry)
        return entry
    }

    @Test func entriesComeWholeAndInUseOnesStay() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let home = VMLabHome(root: tmp.path("home"))
        let store = try Store(home: home)
        var cache = BaselineCache(home: home)
        let a = try entry(cache, key: "k1", slot: "0000000a", bytes: 100)
        Thread.sleep(forTimeInterval: 0.05)
        let b = try entry(cache, key: "k1", slot: "0000000b", bytes: 100)
        // A half-written entry (no entry.json) is not listed.
        try FileManager.default.createDirectory(at: cache.root.appendingPathComponent("k1/.staging-0000000c"),
                                                withIntermediateDirectories: true)
        #expect(cache.entries(key: "k1").map(\.slot) == ["0000000b", "0000000a"], "most recently used first")
        cache.touch(a)
        #expect(cache.entries(key: "k1").first?.slot == "0000000a")

        // An instance restored from b uses its disks: b cannot go.
        try store.insertInstance(InstanceRecord(id: "11111111", slot: b.slot, lab: "x", imageDigest: "img1",
                                                fixedParameters: "{}", state: .ready, pid: getpid(), createdAt: Date()))
        #expect(try cache.remove(b, store: store) == false)
        #expect(try cache.remove(b, store: store, except: "11111111") == true)
        #expect(cache.entries(key: "k1").map(\.slot) == ["0000000a"])

        // Over the cap, the least recently used go first.
        _ = try entry(cache, key: "k2", slot: "0000000d", bytes: 100)
        cache.maxBytes = 150
        try cache.evict(store: store)
        #expect(cache.entries().map(\.slot) == ["0000000d"])
    }

    @Test func gcRemovesEntriesOfGoneImagesAndDeadStaging() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let home = VMLabHome(root: tmp.path("home"))
        let store = try Store(home: home)
        let cache = BaselineCache(home: home)
        _ = try entry(cache, key: "k1", slot: "0000000a", image: "kept")
        let gone = try entry(cache, key: "k2", slot: "0000000b", image: "removed")
        let dead = cache.root.appendingPathComponent("k1/.staging-0000000c")
        try FileManager.default.createDirectory(at: dead, withIntermediateDirectories: true)
        let live = cache.root.appendingPathComponent("k1/.staging-0000000e")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        let writer = try #require(try OwnerLock.tryAcquire("baseline-0000000e", in: home.locks))
        defer { withExtendedLifetime(writer) {} }

        let planned = try cache.collectGarbage(liveImages: ["kept"], store: store, dryRun: true)
        #expect(Set(planned) == [dead.path, cache.folder(key: gone.key, slot: gone.slot).path])
        #expect(cache.entries().count == 2, "a dry run removes nothing")
        _ = try cache.collectGarbage(liveImages: ["kept"], store: store, dryRun: false)
        #expect(cache.entries().map(\.slot) == ["0000000a"])
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: live.path), "a writer's staging folder stays")

        // What owns a pool host's baseline volumes: a whole entry, or a live writer.
        #expect(cache.owns(slot: "0000000a") && cache.owns(slot: "0000000e"))
        #expect(!cache.owns(slot: "0000000b") && !cache.owns(slot: "0000000c"))
    }

    /// An entry written before pool hosts had baselines reads as one of files here.
    @Test func anOlderEntryHasNoHost() throws {
        let json = #"{"key":"k","slot":"0000000a","lab":"x","imageDigest":"i","disks":{},"createdAt":"2026-11-01T00:00:00Z","bytes":1}"#
        let entry = try JSONCoding.decoder().decode(BaselineCache.Entry.self, from: Data(json.utf8))
        #expect(entry.host == nil && entry.slot == "0000000a")
    }
}
