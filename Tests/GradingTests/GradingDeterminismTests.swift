import Foundation
@testable import Grading
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// The same bundles, rubric and secret give byte-identical results in every `vmlab grade`
/// process. Swift seeds its hashing per process, so a grade that depended on a dictionary's
/// order (as mem-overcommit's did: 3.0/12 in some processes, 5.0/12 in others) shows up as
/// a difference between processes here. Needs the built binary (`swift build` first).
@Suite("Grading: determinism across processes", .serialized)
struct GradingDeterminismTests {
    static let binary = CourseBundles.root.appendingPathComponent(".build/debug/vmlab")

    /// A class of mem-overcommit bundles with many measures, hostile names and file names.
    static func writeClass(to dir: URL) throws {
        let lab = try CourseBundles.lab("mem-overcommit")
        let sweep = RunRequest(settings: [], sweeps: [ParameterSweep("ratio", ["1", "1.5", "2", "2.5", "3", "3.5", "4"])],
                               repetitions: 3)
        func bundle(_ student: String, answers: [String: String]? = nil) throws -> Submission {
            let (runs, measurements) = try CourseBundles.evidence(lab: lab, student: student, runs: [("pressure", sweep)])
            let ws = Double(StudentParameters.derive(lab: lab, student: student, secret: CourseBundles.secret)["ws"]!)!
            return Submission(lab: lab.name, student: student, labDigest: "sha256:lab", imageDigest: "sha256:image",
                              instance: "0a1b2c3d", createdAt: Date(timeIntervalSince1970: 1_750_000_000), runs: runs,
                              measurements: measurements,
                              answers: answers ?? ["overhead_mib": "92", "max_ratio": shortNumber(512 / (ws + 104))], artifacts: [:])
        }
        func write(_ name: String, _ data: Data) throws {
            try data.write(to: dir.appendingPathComponent(name))
        }
        for n in 1...6 {
            try write("s0\(n).json", try bundle("s0\(n)", answers: n % 2 == 0 ? nil : ["overhead_mib": "\(80 + n)"]).encoded())
        }
        // Measurements named like the grader's aggregates and like a parameter (the old
        // order-dependent 3.0/5.0 bundle): rejected the same way everywhere.
        var collide = try bundle("s10")
        let template = collide.measurements[0]
        for (name, value) in [("swap_mib_count", 1.0), ("swap_mib_max", 0), ("ws", 9999), ("avail_mib_count", 50)] {
            var m = template
            m.name = name
            m.value = value
            collide.measurements.append(m)
        }
        try write("collide.json", try collide.encoded())
        // Rejected bundles are named by their file in the gradebook: file names are hostile too.
        var copied = try bundle("s01")
        copied.student = "s13"
        try write("copied.json", try copied.encoded())
        try write("=HYPERLINK(\"evil.example?x=1\",\"open me\").json", try copied.encoded())
        try write("esc\u{1B}[31mred\u{1B}[0m.json", Data("{\"format\": \"vmlab-submission/1\"}".utf8))
        let good = String(decoding: try bundle("s14").encoded(), as: UTF8.self)
        try write("dupkeys.json", Data(good.replacingOccurrences(of: "\"overhead_mib\" :", with: "\"overhead_mib\" : \"1\", \"overhead_mib\" :").utf8))
        try write("unknown-answers.json", try bundle("s15", answers: ["Overhead_MiB": "92", "ws": "200"]).encoded())
    }

    @Test func everyProcessGivesTheSameBytes() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build vmlab first: swift build")
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else { return }
        let dir = try TempDir("vmlab-determinism")
        defer { dir.remove() }
        let bundles = dir.path("bundles")
        try FileManager.default.createDirectory(at: bundles, withIntermediateDirectories: true)
        try await offThePool { try Self.writeClass(to: bundles) }
        let environment = ["VMLAB_COURSE_SECRET": CourseBundles.secretText, "VMLAB_HOME": dir.path("home").path]

        var outputs: [String: [String]] = [:]
        for format in ["table", "json"] {
            // Any number of jobs gives the same gradebook.
            for (k, jobs) in [1, 3, 1, 8].enumerated() {
                let csv = dir.path("\(format)-\(k).csv"), junit = dir.path("\(format)-\(k).xml")
                let result = try await Subprocess.run(
                    [Self.binary.path, "grade", bundles.path, "--rubric", CourseBundles.rubricURL("mem-overcommit").path,
                     "--course", CourseBundles.root.path, "--format", format, "--csv", csv.path, "--junit", junit.path,
                     "--jobs", "\(jobs)"],
                    environment: environment)
                outputs[format, default: []].append(result.stdout)
                // Progress comes in the order students finish, with an ETA: compared as a set, without the counter lines.
                let messages = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("==> [") }.sorted()
                #expect(result.stderr.contains("==> [12/12]"), "a progress line per student")
                outputs["stderr", default: []].append(messages.joined(separator: "\n"))
                outputs["csv", default: []].append(try String(contentsOf: csv, encoding: .utf8))
                outputs["junit", default: []].append(try String(contentsOf: junit, encoding: .utf8))
            }
        }
        for (what, texts) in outputs.sorted(by: { $0.key < $1.key }) {
            #expect(Set(texts).count == 1, "\(what) differs between processes")
        }
        let table = try #require(outputs["table"]?.first)
        #expect(table.split(separator: "\n").count == 1 + 12)
        let csv = try #require(outputs["csv"]?.first)
        #expect(csv.contains("\"'=HYPERLINK(\"\"evil.example?x=1\"\",\"\"open me\"\").json\""))
        #expect(!csv.contains("\u{1B}") && !table.contains("\u{1B}") && outputs["stderr"]?.first?.contains("\u{1B}") == false)
        #expect(csv.contains("esc\\u{1B}[31mred\\u{1B}[0m.json"))
        #expect(csv.contains("is named 'swap_mib_count', which experiment pressure of lab mem-overcommit does not measure"))
        #expect(csv.contains("answers has the key 'overhead_mib' twice"))
        #expect(csv.contains("no answer to 'overhead_mib'") == false, "details are not gradebook cells")
    }
}
