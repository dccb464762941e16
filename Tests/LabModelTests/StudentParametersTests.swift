import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards per-student values: the documented formula, determinism, ranges, spread between
/// students, and where the course secret comes from.
@Suite("StudentParameters")
struct StudentParametersTests {
    static let secret = Data("correct horse battery staple 42".utf8)

    static func lab() -> LabSpec {
        LabSpec(
            name: "journal-replay", title: "Journal replay", summary: "s", image: "base",
            parameters: [
                ParameterSpec(name: "journal_mode", kind: .choice(["ordered", "writeback", "journal"]), defaultValue: "ordered"),
                ParameterSpec(name: "commit", kind: .int(min: 1, max: 1000), defaultValue: "5", perStudent: true),
                ParameterSpec(name: "files", kind: .int(min: 100, max: 20000), defaultValue: "1500"),
                ParameterSpec(name: "ratio", kind: .number(min: 0.5, max: 4), defaultValue: "1.5", perStudent: true),
                ParameterSpec(name: "mode", kind: .choice(["ordered", "writeback", "journal"]), defaultValue: "ordered",
                              perStudent: true),
                ParameterSpec(name: "banner", kind: .string, defaultValue: "hello", perStudent: true),
                ParameterSpec(name: "unbounded", kind: .int(min: 1, max: nil), defaultValue: "7", perStudent: true),
            ],
            networks: [], vms: [VMSpec(name: "box")], setup: [], experiments: [],
            source: URL(fileURLWithPath: "/course/Labs/journal-replay/lab.yaml"))
    }

    @Test func derivesOnlyPerStudentParametersDeterministically() {
        let lab = Self.lab()
        let a = StudentParameters.derive(lab: lab, student: "alice", secret: Self.secret)
        #expect(Set(a.keys) == ["commit", "ratio", "mode", "banner", "unbounded"])
        #expect(a == StudentParameters.derive(lab: lab, student: "alice", secret: Self.secret))
        let otherSecret = StudentParameters.derive(lab: lab, student: "alice", secret: Data("another secret, 16+ chars".utf8))
        #expect(a != otherSecret)
    }

    @Test func valuesAreInRangeAndValidForTheirParameter() throws {
        let lab = Self.lab()
        for i in 0..<300 {
            let values = StudentParameters.derive(lab: lab, student: "s\(i)", secret: Self.secret)
            for (name, value) in values {
                let p = try #require(lab.parameter(name))
                #expect(p.problem(with: value) == nil, "\(name)=\(value)")
            }
            let commit = try #require(Int(values["commit"] ?? ""))
            #expect((1...1000).contains(commit))
            let ratio = try #require(Double(values["ratio"] ?? ""))
            #expect((0.5...4).contains(ratio))
            #expect(ratio == (ratio * 1000).rounded() / 1000)
            #expect(["ordered", "writeback", "journal"].contains(values["mode"] ?? ""))
            let banner = try #require(values["banner"])
            #expect(banner.hasPrefix("hello-") && banner.count == 12)
            #expect(banner.dropFirst(6).allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(values["unbounded"] == "7", "an int without both bounds keeps its default")
        }
    }

    @Test func differsBetweenStudents() {
        let lab = Self.lab()
        let commits = (0..<50).map { StudentParameters.derive(lab: lab, student: "student\($0)@uni.example", secret: Self.secret)["commit"]! }
        #expect(Set(commits).count >= 45, "only \(Set(commits).count) distinct values of 50")
        let modes = Set((0..<50).map { StudentParameters.derive(lab: lab, student: "s\($0)", secret: Self.secret)["mode"]! })
        #expect(modes.count == 3)
    }

    @Test func followsTheDocumentedFormula() {
        let mac: [UInt8] = [0xab, 0xcd, 0xef, 1, 2, 3, 4, 5]
        func value(_ kind: ParameterSpec.Kind, _ h: UInt64, default d: String = "0") -> String {
            StudentParameters.value(of: ParameterSpec(name: "p", kind: kind, defaultValue: d, perStudent: true), h: h, mac: mac)
        }
        #expect(value(.int(min: 1, max: 1000), 12345) == "346")
        #expect(value(.int(min: -5, max: 5), 3) == "-2")
        #expect(value(.int(min: Int.min, max: Int.max), 5) == String(Int.min + 5))
        #expect(value(.int(min: 1, max: nil), 5, default: "9") == "9")
        #expect(value(.number(min: 0.5, max: 4), 1 << 63) == "2.25")
        #expect(value(.number(min: 0, max: 1), 0) == "0")
        #expect(value(.number(min: 0, max: nil), 0, default: "0.7") == "0.7")
        #expect(value(.choice(["a", "b", "c"]), 4) == "b")
        #expect(value(.string, 0, default: "hello") == "hello-abcdef")
    }

    @Test func parametersAreDefaultsWithTheStudentsValues() {
        let lab = Self.lab()
        let all = StudentParameters.parameters(lab: lab, student: "alice", secret: Self.secret)
        #expect(all["files"] == "1500")
        #expect(all["commit"] == StudentParameters.derive(lab: lab, student: "alice", secret: Self.secret)["commit"])
        #expect(Set(all.keys) == Set(lab.parameters.map(\.name)))
    }

    @Test func secretComesFromTheEnvironmentFirst() throws {
        let home = try TempDir()
        defer { home.remove() }
        let secret = try StudentParameters.secret(from: ["VMLAB_COURSE_SECRET": "0123456789abcdef"], home: home.url)
        #expect(secret == Data("0123456789abcdef".utf8))
        #expect(!FileManager.default.fileExists(atPath: home.path("course-secret").path))
        #expect {
            _ = try StudentParameters.secret(from: ["VMLAB_COURSE_SECRET": "short"], home: home.url)
        } throws: { error in
            "\(error)".contains("at least 16")
        }
    }

    @Test func secretFileIsCreatedPrivateAndReused() throws {
        let home = try TempDir()
        defer { home.remove() }
        let nested = home.path("not/yet")
        let first = try StudentParameters.secret(from: ["VMLAB_COURSE_SECRET": ""], home: nested)
        let file = nested.appendingPathComponent("course-secret")
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.count == 64 && text.allSatisfy(\.isHexDigit))
        #expect(try StudentParameters.secret(from: [:], home: nested) == first)
    }

    @Test func existingSecretFileIsUsedTrimmedAndMustBeLongEnough() throws {
        let home = try TempDir()
        defer { home.remove() }
        try home.write("course-secret", "a course secret of the teacher\n")
        #expect(try StudentParameters.secret(from: [:], home: home.url) == Data("a course secret of the teacher".utf8))
        try home.write("course-secret", "tiny\n")
        #expect(throws: VMLabError.self) { _ = try StudentParameters.secret(from: [:], home: home.url) }
    }
}
