import Foundation
@testable import Guests
@testable import LabModel
@testable import LabStore
import Libvirt
@testable import Runner
import Testing
@testable import VMLabSupport

/// A runner's storage: the URI's default for a new start, an instance's own records for the
/// commands that come later, and disk-file features refused on a pool host with a reason.
struct PoolStorageRunnerTests {
    @Test func laterCommandsFollowTheInstanceRecords() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-poolstorage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(url: dir.appendingPathComponent("vmlab.sqlite"))
        let home = VMLabHome(root: dir)
        var runner = LabRunner(home: home, store: store, connection: try Connection(uri: "test:///default"))
        runner.host = "qemu+tcp://198.18.1.1/system"
        func instance(_ id: String) -> InstanceRecord {
            InstanceRecord(id: id, lab: "x", imageDigest: "d", fixedParameters: "{}", state: .ready, pid: getpid(),
                           createdAt: Date(), stoppedAt: nil)
        }
        let pooled = instance("0000aaaa"), shared = instance("0000bbbb")
        try store.insertInstance(pooled)
        try store.insertInstance(shared)
        try store.record(.volume, HostVolumes.instanceVolume(home: "d4455a42", instance: pooled.id, vm: "box"), owner: pooled.owner)
        try store.record(.file, dir.appendingPathComponent("instances/\(shared.id)/box.qcow2").path, owner: shared.owner)

        #expect(try runner.matching(pooled).storage == .pool(path: HostStorage.defaultPoolPath))
        #expect(try runner.matching(shared).storage == .shared)
        #expect(throws: Never.self) { try runner.matching(shared).diskFile(shared.id, vm: "box", disk: "root") }
        #expect {
            try runner.matching(pooled).diskSnapshotFile(pooled.id, vm: "box", snapshot: "s", disk: "root")
        } throws: { error in
            "\(error)".contains("on host qemu+tcp://198.18.1.1/system (storage: pool)") && "\(error)".contains("disk-snapshot")
        }
    }
}
