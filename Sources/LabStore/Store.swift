import Foundation
import GRDB
import LabModel
import VMLabSupport

/// The SQLite file that records intent and history. libvirt stays the truth about what
/// runs; the store remembers what vmlab created (so nothing can leak) and what it measured.
public final class Store: Sendable {
    let db: DatabasePool

    /// Opens (creating and migrating if needed) the store at `url`, in WAL mode.
    public init(url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(10)
        do {
            // Two processes opening a new store at once would both run the migrations
            // (GRDB reads which ran, then runs the rest, not atomically across processes).
            let lock = try OwnerLock.waitAndAcquire(url.lastPathComponent + ".migration",
                                                    in: url.deletingLastPathComponent(), timeout: .seconds(60))
            defer { withExtendedLifetime(lock) {} }
            db = try DatabasePool(path: url.path, configuration: config)
            try Self.migrator.migrate(db)
        } catch {
            throw VMLabError(.unavailable, "cannot open the vmlab store \(url.path)", cause: error)
        }
    }

    /// Opens the store of a vmlab home.
    public convenience init(home: VMLabHome) throws {
        try self.init(url: home.database)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: resources and guests") { db in
            try db.create(table: "resource") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("kind", .text).notNull()
                t.column("name", .text).notNull()
                t.column("owner", .text).notNull().indexed()
                t.column("createdAt", .datetime).notNull()
                t.uniqueKey(["kind", "name"])
            }
            try db.create(table: "guest") { t in
                t.primaryKey("name", .text)
                t.column("imageName", .text).notNull()
                t.column("imageDigest", .text).notNull()
                t.column("domain", .text).notNull().unique()
                t.column("disk", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
        registerLabMigrations(&m)
        return m
    }
}

/// Something vmlab creates outside the store: a libvirt object or a file. A row is written
/// before the object is created and deleted after it is removed, so a killed run leaves
/// rows that `vmlab gc` follows.
public struct Resource: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public enum Kind: String, Codable, Sendable, DatabaseValueConvertible {
        case domain, network, file, directory
        /// A volume of vmlab's storage pool on a pool host (`HostStorage.pool`), by name.
        case volume
    }
    public var id: Int64?
    public var kind: Kind
    /// The libvirt name (of a domain, network or pool volume), or the absolute path of a file or directory.
    public var name: String
    /// Who created it: `guest:NAME`, `lab:INSTANCE`, ...
    public var owner: String
    public var createdAt: Date

    public init(kind: Kind, name: String, owner: String) {
        self.kind = kind
        self.name = name
        self.owner = owner
        createdAt = Date()
    }

    public static let databaseTableName = "resource"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A stand-alone guest (`vmlab vm create`): its image and where its disk lives.
public struct GuestRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public var name: String
    public var imageName: String
    public var imageDigest: String
    public var domain: String
    public var disk: String
    public var createdAt: Date

    package init(name: String, imageName: String, imageDigest: String, domain: String, disk: String, createdAt: Date) {
        self.name = name
        self.imageName = imageName
        self.imageDigest = imageDigest
        self.domain = domain
        self.disk = disk
        self.createdAt = createdAt
    }
    public static let databaseTableName = "guest"
}

extension Store {
    /// Records a resource before it is created; recording it twice is harmless.
    public func record(_ kind: Resource.Kind, _ name: String, owner: String) throws {
        try db.write { db in
            var r = Resource(kind: kind, name: name, owner: owner)
            try r.insert(db, onConflict: .ignore)
        }
    }

    /// Forgets a resource after it has been removed.
    public func forget(_ kind: Resource.Kind, _ name: String) throws {
        try db.write { db in
            _ = try Resource.filter(Column("kind") == kind.rawValue && Column("name") == name).deleteAll(db)
        }
    }

    /// Resources of one owner, or all of them, newest first (remove in this order).
    public func resources(owner: String? = nil) throws -> [Resource] {
        try db.read { db in
            var request = Resource.order(Column("id").desc)
            if let owner { request = request.filter(Column("owner") == owner) }
            return try request.fetchAll(db)
        }
    }

    public func insertGuest(_ guest: GuestRecord) throws {
        try db.write { db in try guest.insert(db) }
    }

    public func guest(named name: String) throws -> GuestRecord? {
        try db.read { db in try GuestRecord.fetchOne(db, key: name) }
    }

    public func guests() throws -> [GuestRecord] {
        try db.read { db in try GuestRecord.order(Column("name")).fetchAll(db) }
    }

    public func deleteGuest(named name: String) throws {
        try db.write { db in _ = try GuestRecord.deleteOne(db, key: name) }
    }
}
