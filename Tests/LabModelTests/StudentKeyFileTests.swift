import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards key files: they round-trip, are private, and a hostile or mistaken file is refused
/// with one line naming it (never a hang on a FIFO, never a huge read).
@Suite("StudentKeyFile")
struct StudentKeyFileTests {
    static let key = StudentKey(student: "s1234@uni.example", secret: StudentParametersTests.secret)
    static let hex = key.hex

    /// The error `read` throws for `text` written to a file, as one line.
    static func readError(_ text: String, in dir: TempDir) throws -> String {
        let file = try dir.write("bad.key", text)
        let error = #expect(throws: VMLabError.self) { _ = try StudentKeyFile.read(file) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.hasPrefix(file.path), "\(message)")
        #expect(!message.contains("\n"), "\(message)")
        return message
    }

    @Test func roundTripsAndIsPrivate() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.path("s1234@uni.example.key")
        try StudentKeyFile.write(Self.key, to: file, replace: false)
        #expect(try StudentKeyFile.read(file) == Self.key)
        #expect(try String(contentsOf: file, encoding: .utf8) == "vmlab-student-key v1 s1234@uni.example \(Self.hex)\n")
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    @Test func doesNotReplaceUnlessAskedAndThenMakesTheFilePrivate() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("k.key", "old")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        #expect(throws: VMLabError.self) { try StudentKeyFile.write(Self.key, to: file, replace: false) }
        #expect(try String(contentsOf: file, encoding: .utf8) == "old")
        try StudentKeyFile.write(Self.key, to: file, replace: true)
        #expect(try StudentKeyFile.read(file) == Self.key)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    @Test func acceptsUppercaseHexAndSurroundingBlankLines() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("k.key", "\n  vmlab-student-key v1 s1234@uni.example \(Self.hex.uppercased())  \r\n\n")
        #expect(try StudentKeyFile.read(file) == Self.key)
    }

    @Test func refusesMalformedContentNamingLineAndField() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        #expect(try Self.readError("", in: dir).contains("is empty"))
        #expect(try Self.readError("vmlab-student-key v1 alice \(Self.hex.dropLast(2))\n", in: dir)
            .contains(":1: key: has 62 characters; a key is 64 hex digits"))
        #expect(try Self.readError("vmlab-student-key v1 alice \(Self.hex)00\n", in: dir).contains(":1: key: has 66"))
        #expect(try Self.readError("vmlab-student-key v1 alice \(Self.hex.dropLast())g\n", in: dir)
            .contains(":1: key: is not hex"))
        #expect(try Self.readError("vmlab-student-key v1 ../etc \(Self.hex)\n", in: dir).contains(":1: student: student id"))
        #expect(try Self.readError("vmlab-student-key v2 alice \(Self.hex)\n", in: dir).contains(":1: version:"))
        #expect(try Self.readError("\nstudent: alice\n", in: dir).contains(":2: is not a vmlab student key"))
        #expect(try Self.readError("vmlab-student-key v1 alice \(Self.hex)\nmore\n", in: dir)
            .contains(":2: has more than one line"))
    }

    @Test func refusesAHugeFileWithoutReadingIt() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let message = try Self.readError(String(repeating: "a", count: 5000), in: dir)
        #expect(message.contains("is 5000 bytes"), "\(message)")
    }

    @Test func refusesNonUTF8() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("bin.key", Data([0xff, 0xfe, 0x00, 0x41]))
        let error = #expect(throws: VMLabError.self) { _ = try StudentKeyFile.read(file) }
        #expect(error.map { "\($0)" } == "\(file.path): is not UTF-8 text; a student key file is one line of text")
    }

    @Test func refusesAFIFOAndAFolderWithoutBlocking() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let fifo = dir.path("fifo.key")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let error = #expect(throws: VMLabError.self) { _ = try StudentKeyFile.read(fifo) }
        #expect(error.map { "\($0)" } == "\(fifo.path): is not a regular file; a student key is a one-line text file")
        #expect(throws: VMLabError.self) { _ = try StudentKeyFile.read(dir.url) }
        // Writing where a FIFO sits fails instead of waiting for a reader.
        #expect(throws: VMLabError.self) { try StudentKeyFile.write(Self.key, to: fifo, replace: true) }
    }

    @Test func aMissingFileIsNotFoundAndNamed() {
        let error = #expect(throws: VMLabError.self) {
            _ = try StudentKeyFile.read(URL(fileURLWithPath: "/nonexistent/alice.key"))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("/nonexistent/alice.key") == true)
    }
}
