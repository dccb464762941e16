import Foundation
import GRDB
@testable import LabModel
@testable import LabStore
import Synchronization
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the SQLite store: migrations, WAL mode, resource bookkeeping order and guest records.
@Suite("Store")
struct StoreTests {
    func withStore(_ body: (Store, URL) throws -> Void) throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = tmp.path("state/vmlab.sqlite")
        try body(try Store(url: url), url)
    }

    func guest(_ name: String, digest: String = "abc123") -> GuestRecord {
        GuestRecord(name: name, imageName: "base", imageDigest: digest, domain: Naming.guestDomain(name),
                    disk: "/guests/\(name)/disk.qcow2", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    /// Regression: two `vmlab lab start`s in a fresh home both migrated the new store, and
    /// the second failed on "table instance already exists".
    @Test func openingANewStoreFromManyThreadsAtOnceMigratesItOnce() throws {
        for round in 0..<5 {
            let tmp = try TempDir()
            defer { tmp.remove() }
            let url = tmp.path("state/vmlab.sqlite")
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do { _ = try Store(url: url) } catch {
                    let text = "\(error)"
                    failures.withLock { $0.append(text) }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round)")
            let store = try Store(url: url)
            #expect(try store.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM grdb_migrations") } == 6)
        }
    }

    @Test func openingCreatesTheFileAndTables() throws {
        try withStore { store, url in
            #expect(FileManager.default.fileExists(atPath: url.path))
            let tables = try store.db.read { db in
                (try db.tableExists("resource"), try db.tableExists("guest"))
            }
            #expect(tables.0)
            #expect(tables.1)
            let columns = try store.db.read { db in try db.columns(in: "resource").map(\.name) }
            #expect(Set(columns) == ["id", "kind", "name", "owner", "createdAt"])
        }
    }

    /// `lab start --workspace DIR` is remembered with the instance for later `run` and `submit`.
    @Test func anInstanceKeepsItsWorkspaceFolder() throws {
        try withStore { store, url in
            let instance = InstanceRecord(id: "abcd1234", lab: "kernel-module", imageDigest: "d", fixedParameters: "{}",
                                          state: .ready, pid: 1, createdAt: Date(), workspace: "/home/alice/ws")
            try store.insertInstance(instance)
            #expect(try Store(url: url).instance(id: "abcd1234")?.workspace == "/home/alice/ws")
            try store.insertInstance(InstanceRecord(id: "efgh5678", lab: "net-attack", imageDigest: "d", fixedParameters: "{}",
                                                    state: .ready, pid: 1, createdAt: Date()))
            #expect(try store.instance(id: "efgh5678")?.workspace == nil)
        }
    }

    @Test func databaseIsInWALMode() throws {
        try withStore { store, _ in
            let mode = try store.db.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode?.lowercased() == "wal")
        }
    }

    @Test func migrationsAreRecordedAndReopeningDoesNotRerunThem() throws {
        try withStore { store, url in
            try store.record(.file, "/x", owner: "guest:a")
            let reopened = try Store(url: url)
            let applied = try reopened.db.read { db in try Store.migrator.appliedMigrations(db) }
            #expect(applied == ["v1: resources and guests", "v2: lab instances, runs, events, measurements",
                               "v3: owner process identity", "v4: name slots", "v5: instance host",
                               "v6: instance workspace"])
            #expect(try reopened.resources().map(\.name) == ["/x"])
        }
    }

    /// Instances recorded before name slots existed keep their names: the slot is the id.
    @Test func instancesFromBeforeSlotsGetTheirIdAsSlot() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = tmp.path("vmlab.sqlite")
        let pool = try DatabasePool(path: url.path)
        try Store.migrator.migrate(pool, upTo: "v3: owner process identity")
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO instance (id, lab, imageDigest, fixedParameters, state, pid, createdAt)
                VALUES ('0a1b2c3d', 'x', 'd', '{}', 'ready', 1, '2026-12-01 00:00:00')
                """)
        }
        try pool.close()
        let store = try Store(url: url)
        #expect(try store.instance(id: "0a1b2c3d")?.slot == "0a1b2c3d")
    }

    @Test func resourcesAreNewestFirst() throws {
        try withStore { store, _ in
            try store.record(.directory, "/g/web", owner: "guest:web")
            try store.record(.file, "/g/web/disk.qcow2", owner: "guest:web")
            try store.record(.domain, "vmlab-vm-web", owner: "guest:web")
            let resources = try store.resources()
            #expect(resources.map(\.name) == ["vmlab-vm-web", "/g/web/disk.qcow2", "/g/web"])
            #expect(resources.map(\.kind) == [.domain, .file, .directory])
            #expect(resources.allSatisfy { $0.id != nil && $0.owner == "guest:web" })
        }
    }

    @Test func resourcesFilterByOwner() throws {
        try withStore { store, _ in
            try store.record(.file, "/a1", owner: "guest:a")
            try store.record(.file, "/b1", owner: "guest:b")
            try store.record(.file, "/a2", owner: "guest:a")
            #expect(try store.resources(owner: "guest:a").map(\.name) == ["/a2", "/a1"])
            #expect(try store.resources(owner: "guest:b").map(\.name) == ["/b1"])
            #expect(try store.resources(owner: "guest:none").isEmpty)
            #expect(try store.resources().count == 3)
        }
    }

    @Test func recordingTwiceKeepsOneRow() throws {
        try withStore { store, _ in
            try store.record(.file, "/disk", owner: "guest:a")
            try store.record(.file, "/disk", owner: "guest:a")
            try store.record(.file, "/disk", owner: "guest:b")
            let rows = try store.resources()
            #expect(rows.count == 1)
            #expect(rows.first?.owner == "guest:a")
        }
    }

    @Test func sameNameOfAnotherKindIsAnotherResource() throws {
        try withStore { store, _ in
            try store.record(.file, "web", owner: "o")
            try store.record(.domain, "web", owner: "o")
            #expect(try store.resources().count == 2)
            try store.forget(.file, "web")
            let left = try store.resources()
            #expect(left.map(\.kind) == [.domain])
        }
    }

    @Test func forgetRemovesOnlyThatResource() throws {
        try withStore { store, _ in
            try store.record(.file, "/a", owner: "o")
            try store.record(.file, "/b", owner: "o")
            try store.forget(.file, "/a")
            #expect(try store.resources().map(\.name) == ["/b"])
            try store.forget(.file, "/never-recorded")
            #expect(try store.resources().map(\.name) == ["/b"])
        }
    }

    @Test func reRecordingAfterForgetIsNewest() throws {
        try withStore { store, _ in
            try store.record(.file, "/a", owner: "o")
            try store.record(.file, "/b", owner: "o")
            try store.forget(.file, "/a")
            try store.record(.file, "/a", owner: "o")
            #expect(try store.resources().map(\.name) == ["/a", "/b"])
        }
    }

    @Test func guestRecordsRoundTrip() throws {
        try withStore { store, _ in
            #expect(try store.guest(named: "web") == nil)
            try store.insertGuest(guest("web"))
            #expect(try store.guest(named: "web") == guest("web"))
            #expect(try store.guest(named: "db") == nil)
        }
    }

    @Test func guestsAreSortedByName() throws {
        try withStore { store, _ in
            for name in ["web", "app", "db"] { try store.insertGuest(guest(name)) }
            #expect(try store.guests().map(\.name) == ["app", "db", "web"])
        }
    }

    @Test func duplicateGuestIsRejected() throws {
        try withStore { store, _ in
            try store.insertGuest(guest("web"))
            #expect(throws: (any Error).self) { try store.insertGuest(guest("web", digest: "other")) }
            #expect(try store.guest(named: "web")?.imageDigest == "abc123")
        }
    }

    @Test func deleteGuestRemovesOnlyThatGuest() throws {
        try withStore { store, _ in
            try store.insertGuest(guest("web"))
            try store.insertGuest(guest("db"))
            try store.deleteGuest(named: "web")
            #expect(try store.guest(named: "web") == nil)
            #expect(try store.guests().map(\.name) == ["db"])
            try store.deleteGuest(named: "missing")
            #expect(try store.guests().count == 1)
        }
    }

    @Test func reopeningKeepsData() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = tmp.path("vmlab.sqlite")
        do {
            let store = try Store(url: url)
            try store.record(.domain, "vmlab-vm-web", owner: "guest:web")
            try store.insertGuest(guest("web"))
        }
        let again = try Store(url: url)
        #expect(try again.resources().map(\.name) == ["vmlab-vm-web"])
        #expect(try again.guest(named: "web") == guest("web"))
    }

    @Test func storeOfAHomeLivesAtItsDatabasePath() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let home = VMLabHome(root: tmp.path("home"))
        let store = try Store(home: home)
        try store.record(.file, "/x", owner: "o")
        #expect(FileManager.default.fileExists(atPath: home.database.path))
    }

    @Test func unopenableFileIsUnavailable() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        // A directory where the database file should be.
        let url = tmp.path("db.sqlite")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let error = #expect(throws: VMLabError.self) { _ = try Store(url: url) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains(url.path) == true)
    }
}
