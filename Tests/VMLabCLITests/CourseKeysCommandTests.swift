import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabCLI
@testable import VMLabSupport

/// Guards `vmlab course keys`: one private file per student that the grader agrees with, kept
/// when rerun, and never silently replaced by a key from another secret.
@Suite("vmlab course keys")
struct CourseKeysCommandTests {
    static let secret = Data("correct horse battery staple 42".utf8)

    static func keys(_ arguments: [String]) throws -> CourseCommand.Keys {
        try #require(try VMLab.parseAsRoot(["course", "keys"] + arguments) as? CourseCommand.Keys)
    }

    @Test func courseKeysParses() throws {
        let keys = try Self.keys(["--roster", "roster.csv", "-o", "keys/"])
        #expect(keys.roster == "roster.csv")
        #expect(keys.output == "keys/")
        #expect(!keys.force)
        #expect(try Self.keys(["--roster", "r.csv", "--output", "k", "--force"]).force)
        #expect(throws: (any Error).self) { _ = try Self.keys(["-o", "k"]) }
        #expect(throws: (any Error).self) { _ = try Self.keys(["--roster", "r.csv"]) }
    }

    @Test func courseKeysWritesOnePrivateFilePerStudentThatTheGraderAgreesWith() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let folder = dir.path("out/keys")
        var lines: [String] = []
        let written = try Self.keys(["--roster", "r", "-o", folder.path])
            .writeKeys(roster: Roster(students: ["alice", "bob"]), secret: Self.secret, folder: folder) { lines.append("\($0) \($1.lastPathComponent)") }
        #expect(written == 2)
        #expect(lines == ["alice alice.key", "bob bob.key"])
        let folderMode = try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? NSNumber
        #expect(folderMode?.intValue == 0o700)
        let alice = try StudentKeyFile.read(folder.appendingPathComponent("alice.key"))
        #expect(alice == StudentKey(student: "alice", secret: Self.secret))
        let lab = Self.lab()
        #expect(alice.values(for: lab) == StudentParameters.derive(lab: lab, student: "alice", secret: Self.secret))
    }

    @Test func courseKeysKeepsSameKeysAndRefusesOtherKeysUnlessForced() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let folder = dir.url
        let keys = try Self.keys(["--roster", "r", "-o", folder.path])
        _ = try keys.writeKeys(roster: Roster(students: ["alice"]), secret: Self.secret, folder: folder) { _, _ in }
        // A longer roster: alice's file is kept as it is, carol's is added.
        var seen: [String] = []
        let added = try keys.writeKeys(roster: Roster(students: ["alice", "carol"]), secret: Self.secret, folder: folder) { s, _ in seen.append(s) }
        #expect(added == 1)
        #expect(seen == ["alice", "carol"])
        // Another secret: nothing is written without --force.
        let other = Data("another course secret entirely".utf8)
        let error = #expect(throws: VMLabError.self) {
            _ = try keys.writeKeys(roster: Roster(students: ["alice", "dave"]), secret: other, folder: folder) { _, _ in }
        }
        #expect(error?.code == .alreadyExists)
        #expect(error?.message.contains("alice.key") == true && error?.message.contains("--force") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("dave.key").path))
        let forced = try Self.keys(["--roster", "r", "-o", folder.path, "--force"])
        #expect(try forced.writeKeys(roster: Roster(students: ["alice"]), secret: other, folder: folder) { _, _ in } == 1)
        #expect(try StudentKeyFile.read(folder.appendingPathComponent("alice.key")) == StudentKey(student: "alice", secret: other))
    }

    /// A lab with per-student parameters of every kind.
    static func lab() -> LabSpec {
        LabSpec(
            name: "journal-replay", title: "Journal replay", summary: "s", image: "base",
            parameters: [
                ParameterSpec(name: "commit", kind: .int(min: 1, max: 1000), defaultValue: "5", perStudent: true),
                ParameterSpec(name: "ratio", kind: .number(min: 0.5, max: 4), defaultValue: "1.5", perStudent: true),
                ParameterSpec(name: "mode", kind: .choice(["ordered", "writeback"]), defaultValue: "ordered", perStudent: true),
                ParameterSpec(name: "banner", kind: .string, defaultValue: "hello", perStudent: true),
            ],
            networks: [], vms: [VMSpec(name: "box")], setup: [], experiments: [],
            source: URL(fileURLWithPath: "/course/Labs/journal-replay/lab.yaml"))
    }
}
