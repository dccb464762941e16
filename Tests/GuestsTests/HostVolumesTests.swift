import Foundation
@testable import Guests
import LabModel
import Libvirt
import LabStore
import Testing
import TestSupport
import VMLabSupport

/// vmlab's storage pool on a pool host: the names (content addressed images, instance
/// volumes gc can find), the "already uploaded" decision, and the pool and volume calls
/// against libvirt's test driver (which keeps pools and volumes in memory).
@Suite("Host volumes", .serialized)  // test:///default is one driver per process: one pool at a time
struct HostVolumesTests {
    static let digest = String(repeating: "ab", count: 32)

    /// vmlab's pool on libvirt's test driver (kept in memory), emptied and removed by `remove`.
    struct TestPool {
        let volumes: HostVolumes
        let pool: StoragePool

        init(locks: URL? = nil) throws {
            volumes = HostVolumes(connection: try Connection(uri: "test:///default"), path: "/vmlab-test-pool", locks: locks)
            pool = try volumes.pool()
        }

        func remove() {
            for volume in (try? pool.volumes()) ?? [] { try? volume.delete() }
            try? pool.destroy()
            try? pool.undefine()
        }
    }

    @Test func namesCarryTheDigestOrTheInstance() {
        let image = BuiltImage(manifest: ImageManifest(name: "base", digest: Self.digest, recipe: "", kernelRelease: "", packages: [:],
                                                       diskBytes: 0, kernelBytes: 0, initrdBytes: 0, kernelArguments: "",
                                                       builtAt: Date(), buildSeconds: 0),
                               directory: URL(fileURLWithPath: "/images/x"))
        #expect(HostVolumes.imageVolumes(image).map(\.name) == ["\(Self.digest)-disk.qcow2", "\(Self.digest)-kernel", "\(Self.digest)-initrd"])
        #expect(HostVolumes.imageVolumes(image).map(\.file.lastPathComponent) == ["disk.qcow2", "kernel", "initrd"])
        #expect(HostVolumes.digest(ofMarker: HostVolumes.markerVolume(digest: Self.digest)) == Self.digest)
        #expect(HostVolumes.digest(ofMarker: "\(Self.digest)-kernel") == nil)
        #expect(HostVolumes.digest(ofMarker: "vmlab-abc-complete") == nil, "an instance's volume is never an image")
        #expect(HostVolumes.instanceVolume(home: "d4455a42", instance: "0a1b2c3d", vm: "box") == "vmlab-d4455a42-0a1b2c3d-box.qcow2")
        #expect(HostVolumes.instanceVolume(home: "d4455a42", instance: "0a1b2c3d", vm: "box", disk: "data")
                == "vmlab-d4455a42-0a1b2c3d-box-data.qcow2")
    }

    /// A volume names its home and instance, so gc takes its own home's and no other's.
    @Test func aVolumeNamesItsHomeAndInstance() {
        let tag = HostVolumes.homeTag("D4455A42-1740-4b8a-861d-00b9a1c5ec41")
        #expect(tag == "d4455a42")
        #expect(HostVolumes.instance(ofVolume: HostVolumes.instanceVolume(home: tag, instance: "0a1b2c3d", vm: "db", disk: "acks"),
                                     homeTag: tag) == "0a1b2c3d")
        for other in ["vmlab-c04f3a3e-0a1b2c3d-box.qcow2", "vmlab-d4455a42-0a1b2c3-box.qcow2", "vmlab-d4455a42-0a1b2c3dx-box.qcow2",
                      "vmlab-d4455a42-0A1B2C3D-box.qcow2", "vmlab-d4455a42-0a1b2c3d-box", "\(Self.digest)-disk.qcow2"] {
            #expect(HostVolumes.instance(ofVolume: other, homeTag: tag) == nil, "\(other)")
        }
        #expect(HostVolumes.instance(ofVolume: "vmlab--0a1b2c3d-box.qcow2", homeTag: "") == nil)
    }

    /// A saved baseline's volumes name their home and slot, and are never taken for an
    /// instance's: gc keeps those an entry owns and removes the rest.
    @Test func baselineVolumesNameTheirHomeAndSlot() {
        let tag = "d4455a42"
        let disk = HostVolumes.baselineDisk(home: tag, slot: "0a1b2c3d", vm: "db", disk: "acks")
        let root = HostVolumes.baselineDisk(home: tag, slot: "0a1b2c3d", vm: "db")
        let state = HostVolumes.baselineState(home: tag, slot: "0a1b2c3d", vm: "db")
        #expect([disk, root, state] == ["vmlab-d4455a42-baseline-0a1b2c3d-db-acks.qcow2", "vmlab-d4455a42-baseline-0a1b2c3d-db.qcow2",
                                        "vmlab-d4455a42-baseline-0a1b2c3d-db.state"])
        for name in [disk, root, state] {
            #expect(HostVolumes.slot(ofBaselineVolume: name, homeTag: tag) == "0a1b2c3d", "\(name)")
            #expect(HostVolumes.instance(ofVolume: name, homeTag: tag) == nil, "\(name) is no instance's volume")
            #expect(HostVolumes.slot(ofBaselineVolume: name, homeTag: "c04f3a3e") == nil, "another home's")
        }
        for other in [HostVolumes.instanceVolume(home: tag, instance: "0a1b2c3d", vm: "db"), "vmlab-d4455a42-baseline-0a1b2c3-db.state",
                      "vmlab-d4455a42-baseline-0a1b2c3d-db.img", "vmlab-d4455a42-baseline-0a1b2c3ddb.qcow2"] {
            #expect(HostVolumes.slot(ofBaselineVolume: other, homeTag: tag) == nil, "\(other)")
        }
    }

    /// A console log on a pool host (and virtlogd's rotated pieces of it) belongs to its
    /// instance, so teardown and gc take it with the disks.
    @Test func consoleLogsBelongToTheirInstance() {
        let tag = "d4455a42"
        let log = HostVolumes.consoleVolume(home: tag, instance: "0a1b2c3d", vm: "box")
        #expect(log == "vmlab-d4455a42-0a1b2c3d-box-console.log")
        for name in [log, log + ".0", log + ".12"] {
            #expect(HostVolumes.isConsoleLog(name), "\(name)")
            #expect(HostVolumes.instance(ofVolume: name, homeTag: tag) == "0a1b2c3d", "\(name)")
        }
        for name in [log + ".", log + ".x", log + ".0.gz", "vmlab-d4455a42-0a1b2c3d-box.qcow2", "vmlab-d4455a42-0a1b2c3d-box.log"] {
            #expect(!HostVolumes.isConsoleLog(name), "\(name)")
        }
    }

    /// `image rm` on a pool host: the upload goes unless a volume (of any home) has it beneath it.
    @Test func anUploadedImageIsRemovedOnlyWhenNoVolumeStandsOnIt() throws {
        let test = try TestPool()
        defer { test.remove() }
        let (volumes, pool) = (test.volumes, test.pool)
        #expect(try volumes.removeImage(digest: Self.digest) == .absent)
        for name in ["\(Self.digest)-disk.qcow2", "\(Self.digest)-kernel", "\(Self.digest)-initrd"] {
            _ = try pool.createVolume(xml: HostVolumes.uploadVolumeXML(name: name, bytes: 1024))
        }
        _ = try pool.createVolume(xml: HostVolumes.markerVolumeXML(name: HostVolumes.markerVolume(digest: Self.digest)))
        let disk = try #require(try pool.lookupVolume(named: "\(Self.digest)-disk.qcow2")).path()
        let overlay = try volumes.createOverlay(named: "vmlab-ffffffff-0000cccc-box.qcow2", backing: disk, capacityBytes: 1 << 20)
        #expect(HostVolumes.backingPath(ofVolumeXML: try #require(try pool.lookupVolume(named: "vmlab-ffffffff-0000cccc-box.qcow2"))
            .xmlDescription()) == disk, "\(overlay)")
        #expect(try volumes.removeImage(digest: Self.digest) == .inUse(by: ["vmlab-ffffffff-0000cccc-box.qcow2"]))
        #expect(try volumes.imagesPresent() == [Self.digest])
        try volumes.deleteVolume(named: "vmlab-ffffffff-0000cccc-box.qcow2")
        #expect(try volumes.removeImage(digest: Self.digest) == .removed)
        #expect(try volumes.imagesPresent() == [])
        #expect(try pool.volumes().isEmpty)
    }

    /// Every vmlab home sharing a pool host claims an image's upload on the host first: while
    /// another's claim stands, an upload waits (and in the end says whose volume to remove)
    /// instead of deleting the other's half-sent volumes.
    @Test func anUploadWaitsForAnotherHomesClaim() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let test = try TestPool(locks: dir.path("locks"))
        defer { test.remove() }
        var volumes = test.volumes
        let pool = test.pool
        let claim = HostVolumes.claimVolume(digest: Self.digest)
        #expect(try HostVolumes.claimUpload(pool, claim: claim, staleAfter: .seconds(600)))
        #expect(try !HostVolumes.claimUpload(pool, claim: claim, staleAfter: .seconds(600)), "held: not taken twice")

        let image = dir.path("image")
        for file in ["disk.qcow2", "kernel", "initrd"] { _ = try dir.write("image/\(file)", "bytes of \(file)") }
        let built = BuiltImage(manifest: ImageManifest(name: "base", digest: Self.digest, recipe: "", kernelRelease: "", packages: [:],
                                                       diskBytes: 0, kernelBytes: 0, initrdBytes: 0, kernelArguments: "",
                                                       builtAt: Date(), buildSeconds: 0), directory: image)
        volumes.uploadTimeout = .milliseconds(200)
        do {
            _ = try await volumes.ensureImage(built)
            Issue.record("an upload went on under another home's claim")
        } catch {
            #expect("\(error)".contains("by another vmlab (volume \(claim))") && "\(error)".contains("virsh vol-delete"), "\(error)")
        }
        #expect(try pool.volumes().map(\.name) == [claim], "nothing of the image was made or deleted meanwhile")

        let xml = "<volume><target><timestamps><atime>1.5</atime><mtime>1800000000.250000000</mtime></timestamps></target></volume>"
        #expect(HostVolumes.modificationTime(ofVolumeXML: xml) == Date(timeIntervalSince1970: 1_800_000_000.25))
        #expect(HostVolumes.modificationTime(ofVolumeXML: "<volume/>") == nil)
    }

    /// gc on a pool host: this home's instance volumes without a record are orphans (owned by
    /// their instance); recorded ones, another home's and the images are not.
    @Test func orphanVolumesOfThisHomeOnly() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let home = VMLabHome(root: dir.path("home"))
        let tag = HostVolumes.homeTag(try home.identity())
        let test = try TestPool()
        defer { test.remove() }
        let (volumes, pool) = (test.volumes, test.pool)
        let lost = HostVolumes.instanceVolume(home: tag, instance: "0000aaaa", vm: "box")
        let recorded = HostVolumes.instanceVolume(home: tag, instance: "0000bbbb", vm: "box")
        let others = HostVolumes.instanceVolume(home: "ffffffff", instance: "0000cccc", vm: "box")
        for name in [lost, recorded, others] { _ = try volumes.createDisk(named: name, capacityBytes: 1 << 20) }
        _ = try pool.createVolume(xml: HostVolumes.markerVolumeXML(name: HostVolumes.markerVolume(digest: Self.digest)))
        let found = try Orphans(connection: volumes.connection, home: home, volumes: volumes).find(recorded: [recorded])
            .filter { $0.kind == .volume }
        #expect(found.map(\.name) == [lost])
        #expect(found.map(\.owner) == ["lab:0000aaaa"])
        #expect(try Orphans(connection: volumes.connection, home: home).find(recorded: []).allSatisfy { $0.kind != .volume },
                "a shared host has no pool to look in")
    }

    @Test func reusesOnlyACompleteUpload() {
        let marker = "m"
        let expected: [String: UInt64] = ["d": 100, "k": 10, "i": 20]
        #expect(HostVolumes.plan(marker: marker, expected: expected, present: ["d": 100, "k": 10, "i": 20, "m": 0]) == .reuse)
        #expect(HostVolumes.plan(marker: marker, expected: expected, present: [:]) == .upload(deleteFirst: []))
        // Full length but no marker: created, perhaps never written (libvirt sizes a volume first).
        #expect(HostVolumes.plan(marker: marker, expected: expected, present: ["d": 100, "k": 10, "i": 20])
                == .upload(deleteFirst: ["d", "i", "k"]))
        // A marker with a volume of the wrong length (changed on the host): marker goes first.
        #expect(HostVolumes.plan(marker: marker, expected: expected, present: ["d": 99, "k": 10, "i": 20, "m": 0])
                == .upload(deleteFirst: ["m", "d", "i", "k"]))
        #expect(HostVolumes.plan(marker: marker, expected: expected, present: ["k": 10, "i": 20, "m": 0])
                == .upload(deleteFirst: ["m", "i", "k"]))
    }

    @Test func volumeXML() {
        #expect(HostVolumes.qcow2VolumeXML(name: "vmlab-i-box.qcow2", capacityBytes: 2048, backing: "/p/d-disk.qcow2")
                .contains("<backingStore>\n    <path>/p/d-disk.qcow2</path>\n    <format type='qcow2'/>"))
        #expect(HostVolumes.uploadVolumeXML(name: "x", bytes: 5).contains("<allocation unit='bytes'>0</allocation>"))
    }

    @Test func poolAndVolumesOnTheTestDriver() throws {
        let connection = try Connection(uri: "test:///default")
        let volumes = HostVolumes(connection: connection, path: "/vmlab-test-pool")
        let pool = try volumes.pool()
        #expect(try pool.isActive())
        #expect(try volumes.pool().name == HostStorage.poolName, "found again, not defined twice")
        #expect(try volumes.imagesPresent() == [])
        let overlay = try volumes.createOverlay(named: "vmlab-i1-box.qcow2", backing: "/vmlab-test-pool/\(Self.digest)-disk.qcow2",
                                                capacityBytes: 1 << 30)
        #expect(overlay.hasSuffix("vmlab-i1-box.qcow2"))
        _ = try volumes.createDisk(named: "vmlab-i1-box-data.qcow2", capacityBytes: 1 << 20)
        _ = try pool.createVolume(xml: HostVolumes.markerVolumeXML(name: HostVolumes.markerVolume(digest: Self.digest)))
        #expect(try volumes.imagesPresent() == [Self.digest])
        #expect(try volumes.instanceVolumes() == ["vmlab-i1-box-data.qcow2", "vmlab-i1-box.qcow2"])
        try volumes.deleteVolume(named: "vmlab-i1-box.qcow2")
        try volumes.deleteVolume(named: "vmlab-i1-box.qcow2")  // gone already: nothing to do
        #expect(try volumes.instanceVolumes() == ["vmlab-i1-box-data.qcow2"])
        for volume in try pool.volumes() { try volume.delete() }
        try pool.destroy()
        try pool.undefine()
    }
}
