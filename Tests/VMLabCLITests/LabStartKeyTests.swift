import ArgumentParser
import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabCLI
@testable import VMLabSupport

/// Guards `vmlab lab start --student-key`: the student comes from the key file with no course
/// secret needed, a `--student` naming someone else is refused, a bad file is named.
@Suite("vmlab lab start --student-key")
struct LabStartKeyTests {
    static let secret = Data("correct horse battery staple 42".utf8)

    static func start(_ arguments: [String]) throws -> LabCommand.Start {
        try #require(try VMLab.parseAsRoot(["lab", "start", "journal-replay"] + arguments) as? LabCommand.Start)
    }

    @Test func labStartParsesTheKeyFile() throws {
        let start = try Self.start(["--student-key", "alice.key"])
        #expect(start.studentKey == "alice.key")
        #expect(start.student == nil)
    }

    @Test func labStartTakesTheStudentFromTheKeyFileWithoutTheSecret() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = StudentKey(student: "alice", secret: Self.secret)
        let file = dir.path("alice.key")
        try StudentKeyFile.write(key, to: file, replace: false)
        let noSecret: () throws -> Data = { Issue.record("the key file needs no course secret"); return Data() }
        #expect(try Self.start(["--student-key", file.path]).identity(secret: noSecret) == .key(key))
        #expect(try Self.start(["--student-key", file.path, "--student", "alice"]).identity(secret: noSecret) == .key(key))
    }

    @Test func labStartRefusesAKeyOfAnotherStudent() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.path("bob.key")
        try StudentKeyFile.write(StudentKey(student: "bob", secret: Self.secret), to: file, replace: false)
        let error = #expect(throws: VMLabError.self) {
            _ = try Self.start(["--student-key", file.path, "--student", "alice"]).identity { Self.secret }
        }
        #expect(error?.message == "--student alice does not match \(file.path), the key of student bob")
    }

    @Test func labStartNamesABadKeyFile() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("alice.key", "vmlab-student-key v1 alice 1234\n")
        let error = #expect(throws: VMLabError.self) { _ = try Self.start(["--student-key", file.path]).identity { Self.secret } }
        #expect(error.map { "\($0)" } == "\(file.path):1: key: has 4 characters; a key is 64 hex digits")
    }

    @Test func labStartWithStudentAloneUsesTheCourseSecret() throws {
        #expect(try Self.start(["--student", "alice"]).identity { Self.secret } == .secret(student: "alice", secret: Self.secret))
        #expect(try Self.start([]).identity { Self.secret } == nil)
        #expect(throws: ValidationError.self) { _ = try Self.start(["--student", "../x"]).identity { Self.secret } }
    }
}
