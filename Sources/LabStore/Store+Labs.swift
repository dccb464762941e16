import Foundation
import GRDB
import LabModel
import VMLabSupport

/// A started lab: its guests, networks and disks exist until it is stopped.
public struct InstanceRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum State: String, Codable, Sendable, DatabaseValueConvertible {
        /// Objects are being created; a crash here leaves resources for `vmlab gc`.
        case starting
        /// Booted, baseline snapshot taken: experiments may run.
        case ready
        /// Torn down; its runs and measurements stay for results and submission.
        case stopped
    }
    /// Eight hex digits, unique per start: part of every libvirt name of the instance.
    public var id: String
    public var lab: String
    public var student: String?
    /// The student of the instances grading replays start.
    public static let replayStudent = "replay"
    public var imageDigest: String
    /// Parameter values fixed for this instance (per-student values), JSON.
    public var fixedParameters: String
    public var state: State
    /// The vmlab process that is starting it (a dead one while `starting` means interrupted).
    public var pid: Int32
    public var createdAt: Date
    public var stoppedAt: Date?
    /// That process's full identity (`ProcessIdentity`): pid, start time and boot.
    public var process: String?
    /// Eight hex digits in every libvirt name of the instance (domains, networks, bridges,
    /// MACs): its own id after a cold start, or that of the instance whose saved baseline
    /// it was restored from, since a saved guest only comes back under its own name and
    /// UUID (see `BaselineCache`).
    public var slot: String
    /// The libvirt URI of the host a host pool placed it on; nil: the one host of the
    /// process (`--connect`). `gc` on another host leaves it alone.
    public var host: String?
    /// The student's workspace folder the instance was started with (`--workspace`, absolute),
    /// so later `run`, `check` and `submit` use it without the flag; nil: none or a replay.
    public var workspace: String?

    package init(id: String, slot: String? = nil, host: String? = nil, lab: String, student: String? = nil, imageDigest: String, fixedParameters: String, state: State, pid: Int32, createdAt: Date, stoppedAt: Date? = nil, process: String? = ProcessIdentity.current.description, workspace: String? = nil) {
        self.process = process
        self.workspace = workspace
        self.id = id
        self.slot = slot ?? id
        self.host = host
        self.lab = lab
        self.student = student
        self.imageDigest = imageDigest
        self.fixedParameters = fixedParameters
        self.state = state
        self.pid = pid
        self.createdAt = createdAt
        self.stoppedAt = stoppedAt
    }
    public static let databaseTableName = "instance"

    public var owner: String { "lab:\(id)" }
    /// Whether the process that started it still runs (same pid, start time and boot).
    public var ownerIsAlive: Bool { ownerAlive(pid: pid, process: process) }
    public var fixed: [String: String] {
        decodeJSON(fixedParameters)
    }
}

/// One execution of an experiment with one parameter combination.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public enum Status: String, Codable, Sendable, DatabaseValueConvertible { case running, ok, failed }
    public var id: Int64?
    public var instance: String
    public var experiment: String
    /// The run's parameter values (all of them), JSON.
    public var parameters: String
    public var repetition: Int
    public var status: Status
    public var error: String?
    /// The vmlab process running it (a dead one while `running` means interrupted).
    public var pid: Int32
    public var startedAt: Date
    public var finishedAt: Date?
    /// That process's full identity (`ProcessIdentity`).
    public var process: String?
    public static let databaseTableName = "run"

    /// Whether the process that started it still runs (same pid, start time and boot).
    public var ownerIsAlive: Bool { ownerAlive(pid: pid, process: process) }
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var parameterValues: [String: String] {
        decodeJSON(parameters)
    }
}

/// A step as it happened: what, where, how long, whether it worked.
public struct EventRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public var id: Int64?
    public var instance: String
    /// nil for the lab's setup steps.
    public var run: Int64?
    public var kind: String
    public var vm: String?
    public var detail: String
    public var startedAt: Date
    public var seconds: Double
    public var ok: Bool
    /// The end of the command's output or the error, for the record.
    public var output: String?

    package init(id: Int64? = nil, instance: String, run: Int64? = nil, kind: String, vm: String? = nil, detail: String, startedAt: Date, seconds: Double, ok: Bool, output: String? = nil) {
        self.id = id
        self.instance = instance
        self.run = run
        self.kind = kind
        self.vm = vm
        self.detail = detail
        self.startedAt = startedAt
        self.seconds = seconds
        self.ok = ok
        self.output = output
    }
    public static let databaseTableName = "event"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

struct MeasurementRecord: Codable, FetchableRecord, MutablePersistableRecord {
    var id: Int64?
    var instance: String
    var run: Int64
    var experiment: String
    var name: String
    var value: Double
    var unit: String
    var parameters: String
    var repetition: Int
    var takenAt: Date
    static let databaseTableName = "measurement"
}

extension Store {
    static func registerLabMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("v2: lab instances, runs, events, measurements") { db in
            try db.create(table: "instance") { t in
                t.primaryKey("id", .text)
                t.column("lab", .text).notNull().indexed()
                t.column("student", .text)
                t.column("imageDigest", .text).notNull()
                t.column("fixedParameters", .text).notNull()
                t.column("state", .text).notNull()
                t.column("pid", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("stoppedAt", .datetime)
            }
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("instance", .text).notNull().indexed().references("instance")
                t.column("experiment", .text).notNull()
                t.column("parameters", .text).notNull()
                t.column("repetition", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("error", .text)
                t.column("pid", .integer).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("instance", .text).notNull().indexed().references("instance")
                t.column("run", .integer).references("run")
                t.column("kind", .text).notNull()
                t.column("vm", .text)
                t.column("detail", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("seconds", .double).notNull()
                t.column("ok", .boolean).notNull()
                t.column("output", .text)
            }
            try db.create(table: "measurement") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("instance", .text).notNull().indexed().references("instance")
                t.column("run", .integer).notNull().indexed().references("run")
                t.column("experiment", .text).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.column("unit", .text).notNull()
                t.column("parameters", .text).notNull()
                t.column("repetition", .integer).notNull()
                t.column("takenAt", .datetime).notNull()
            }
        }
        m.registerMigration("v3: owner process identity") { db in
            try db.alter(table: "instance") { t in t.add(column: "process", .text) }
            try db.alter(table: "run") { t in t.add(column: "process", .text) }
        }
        m.registerMigration("v4: name slots") { db in
            try db.alter(table: "instance") { t in t.add(column: "slot", .text) }
            try db.execute(sql: "UPDATE instance SET slot = id")
        }
        m.registerMigration("v5: instance host") { db in
            try db.alter(table: "instance") { t in t.add(column: "host", .text) }
        }
        m.registerMigration("v6: instance workspace") { db in
            try db.alter(table: "instance") { t in t.add(column: "workspace", .text) }
        }
    }

    // MARK: instances

    public func insertInstance(_ instance: InstanceRecord) throws {
        try db.write { db in try instance.insert(db) }
    }

    public func setInstanceState(_ id: String, _ state: InstanceRecord.State) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE instance SET state = ?, stoppedAt = ? WHERE id = ?",
                           arguments: [state.rawValue, state == .stopped ? Date() : nil, id])
        }
    }

    public func instance(id: String) throws -> InstanceRecord? {
        try db.read { db in try InstanceRecord.fetchOne(db, key: id) }
    }

    /// Instances not yet stopped, newest first; `lab` narrows to one lab.
    public func activeInstances(lab: String? = nil) throws -> [InstanceRecord] {
        try db.read { db in
            var request = InstanceRecord.filter(Column("state") != InstanceRecord.State.stopped.rawValue)
            if let lab { request = request.filter(Column("lab") == lab) }
            return try request.order(Column("createdAt").desc).fetchAll(db)
        }
    }

    /// Every instance ever started from this home, newest first.
    public func instances() throws -> [InstanceRecord] {
        try db.read { db in try InstanceRecord.order(Column("createdAt").desc).fetchAll(db) }
    }

    /// The newest instance of a lab, stopped or not (results outlive the guests). Grading
    /// replays are left out: after `vmlab grade --replay`, `vmlab results` still shows the
    /// instructor's own runs, not the last replay's.
    public func latestInstance(lab: String) throws -> InstanceRecord? {
        try db.read { db in
            try InstanceRecord.filter(Column("lab") == lab)
                .filter(Column("student") == nil || Column("student") != InstanceRecord.replayStudent)
                .order(Column("createdAt").desc).fetchOne(db)
        }
    }

    // MARK: runs, events, measurements

    public func beginRun(instance: String, experiment: String, parameters: [String: String], repetition: Int) throws -> RunRecord {
        try db.write { db in
            var run = RunRecord(id: nil, instance: instance, experiment: experiment,
                                parameters: encodeJSON(parameters), repetition: repetition,
                                status: .running, error: nil, pid: getpid(), startedAt: Date(), finishedAt: nil,
                                process: ProcessIdentity.current.description)
            try run.insert(db)
            return run
        }
    }

    public func finishRun(_ id: Int64, error: String?) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE run SET status = ?, error = ?, finishedAt = ? WHERE id = ?",
                           arguments: [(error == nil ? RunRecord.Status.ok : .failed).rawValue, error, Date(), id])
        }
    }

    /// Runs still marked running whose process is gone: a runner that was killed.
    public func interruptedRuns() throws -> [RunRecord] {
        try db.read { db in
            try RunRecord.filter(Column("status") == RunRecord.Status.running.rawValue).fetchAll(db)
        }.filter { !$0.ownerIsAlive }
    }

    public func runs(instance: String) throws -> [RunRecord] {
        try db.read { db in try RunRecord.filter(Column("instance") == instance).order(Column("id")).fetchAll(db) }
    }

    @discardableResult
    public func recordEvent(_ event: EventRecord) throws -> EventRecord {
        try db.write { db in
            var e = event
            try e.insert(db)
            return e
        }
    }

    public func events(instance: String, run: Int64? = nil) throws -> [EventRecord] {
        try db.read { db in
            var request = EventRecord.filter(Column("instance") == instance)
            if let run { request = request.filter(Column("run") == run) }
            return try request.order(Column("id")).fetchAll(db)
        }
    }

    /// Commits one measurement at once: a runner killed later loses nothing measured before.
    public func recordMeasurement(_ m: RunMeasurement, instance: String) throws {
        try db.write { db in
            var record = MeasurementRecord(id: nil, instance: instance, run: m.runID, experiment: m.experiment, name: m.name,
                                           value: m.value, unit: m.unit, parameters: encodeJSON(m.parameters),
                                           repetition: m.repetition, takenAt: m.takenAt)
            try record.insert(db)
        }
    }

    /// Measurements of an instance (optionally one experiment), in the order taken.
    public func measurements(instance: String, experiment: String? = nil, run: Int64? = nil) throws -> [RunMeasurement] {
        try db.read { db in
            var request = MeasurementRecord.filter(Column("instance") == instance)
            if let experiment { request = request.filter(Column("experiment") == experiment) }
            if let run { request = request.filter(Column("run") == run) }
            return try request.order(Column("id")).fetchAll(db).map { r in
                RunMeasurement(runID: r.run, experiment: r.experiment, name: r.name, value: r.value, unit: r.unit,
                            parameters: decodeJSON(r.parameters),
                            repetition: r.repetition, takenAt: r.takenAt)
            }
        }
    }
}

/// Parameter maps are stored as JSON text; a row that does not decode reads as empty.
package func decodeJSON(_ text: String) -> [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
}

package func encodeJSON(_ values: [String: String]) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: (try? encoder.encode(values)) ?? Data("{}".utf8), as: UTF8.self)
}

/// Whether a process of this host still exists (signal 0 probes without sending).
/// A recorded owner is alive when its full identity still runs; records from before the
/// identity was kept fall back to the pid.
func ownerAlive(pid: Int32, process: String?) -> Bool {
    if let process, let identity = ProcessIdentity(process) { return identity.isAlive }
    return processIsAlive(pid)
}

package func processIsAlive(_ pid: Int32) -> Bool {
    pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
}
