import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import Testing
import VMLabSupport

extension RealHost {
/// The student and instructor commands through the real binary: start with a student id,
/// self-check, submit, grade into a gradebook, and a tampered bundle rejected.
@Suite(.serialized)
struct GradingFlowTests {
    @Test func studentSubmitsInstructorGrades() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home)
        }
        let started = try await vmlab("lab", "start", "journal-replay", "--student", "s1234")
        #expect(started.status == 0, "\(started.stderr)")
        defer { IntegrationEnvironment.vmlabSync(["lab", "stop", "journal-replay"], home: home) }
        #expect(started.stderr.contains("max_loss = "), "the student is told their own values")
        let status = try await vmlab("lab", "status", "journal-replay")
        #expect(status.stdout.contains("for s1234: max_loss="))

        #expect(try await vmlab("run", "journal-replay", "crash-replay", "--sweep", "commit=1,30", "--set", "files=200").status == 0)
        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "journal-replay").first)
        let survived = try store.measurements(instance: instance.id).first { $0.name == "files_survived" && $0.parameters["commit"] == "30" }
        let answers = home.root.appendingPathComponent("answers.yaml")
        try "files_survived_commit_30: \(Int(try #require(survived).value))\ncommit_choice: 1\n"
            .write(to: answers, atomically: true, encoding: .utf8)

        let check = try await vmlab("check", "journal-replay", "--answers", answers.path)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("[pass] crash-at-commit-1"))
        #expect(check.stdout.contains("[pass] q1-files-survived"))
        #expect(!check.stdout.contains("q5-replay"), "replay checks do not run locally")

        let wrongStudent = try await vmlab("submit", "journal-replay", "--student", "s9999", "-o", home.root.appendingPathComponent("x.json").path)
        #expect(wrongStudent.status == 1)
        #expect(wrongStudent.stderr.contains("started for student s1234"))

        let submissions = home.root.appendingPathComponent("submissions")
        try FileManager.default.createDirectory(at: submissions, withIntermediateDirectories: true)
        let bundle = submissions.appendingPathComponent("s1234.json")
        let submitted = try await vmlab("submit", "journal-replay", "--student", "s1234", "--answers", answers.path, "-o", bundle.path)
        #expect(submitted.status == 0, "\(submitted.stderr)")

        // A copy edited after submission: its digest no longer matches.
        var text = try String(contentsOf: bundle, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"student\" : \"s1234\"", with: "\"student\" : \"s5678\"")
        try text.write(to: submissions.appendingPathComponent("s5678.json"), atomically: true, encoding: .utf8)

        let gradebook = home.root.appendingPathComponent("gradebook.csv")
        let junit = home.root.appendingPathComponent("grades.xml")
        let graded = try await vmlab("grade", submissions.path, "--rubric",
                                     IntegrationEnvironment.repository.appendingPathComponent("Grading/journal-replay/rubric.yaml").path,
                                     "--csv", gradebook.path, "--junit", junit.path)
        #expect(graded.status == 0, "\(graded.stderr)")
        #expect(graded.stderr.contains("s5678.json rejected"))
        let rows = try String(contentsOf: gradebook, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        #expect(rows.count == 3)
        #expect(rows[0].hasPrefix("student,total,possible,percent,crash-at-commit-1"))
        let good = try #require(rows.first { $0.hasPrefix("s1234,") })
        let total = try #require(Double(good.split(separator: ",")[1]))
        #expect(total >= 5, "runs, consistency, Q1 and Q5 earn points without replay: \(good)")
        let rejected = try #require(rows.first { $0.hasPrefix("s5678.json,") })
        #expect(rejected.hasPrefix("s5678.json,0"))
        #expect(try String(contentsOf: junit, encoding: .utf8).contains("<testsuite"))
        #expect(try await vmlab("lab", "stop", "journal-replay").status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }
}
}
