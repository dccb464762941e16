import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
@testable import VMLabSupport
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Guards the gradebook exports: RFC 4180 CSV and JUnit XML that real parsers accept.
@Suite("Grading: Gradebook")
struct GradingGradebookTests {
    static func report(_ student: String, _ earned: [String: Double], rejected: String? = nil) -> GradeReport {
        let checks = earned.sorted { $0.key < $1.key }.map {
            CheckResult(id: $0.key, title: $0.key, points: 2, earned: $0.value, passed: $0.value == 2, feedback: nil, detail: "")
        }
        let total = earned.values.reduce(0, +)
        return GradeReport(student: student, lab: "lab", checks: checks, total: total, possible: 4,
                           percent: total / 4 * 100, rejected: rejected)
    }

    @Test func csvHasTheHeaderARowPerReportAndQuotes() {
        let csv = Gradebook.csv([
            Self.report("alice", ["a": 2, "b": 0.667]),
            Self.report("bob", ["a": 1]),
            GradeReport.rejection(student: "eve", lab: "lab", possible: 4,
                                  reason: "run 1 used commit=7 but student eve's value is 12, \"copied\"\nsecond line"),
            Self.report("o'neil,jr", ["a": 2, "b": 2]),
        ], checkIDs: ["a", "b"])
        let expected = "student,total,possible,percent,a,b,rejected\r\n"
            + "alice,2.667,4,66.675,2,0.667,\r\n"
            + "bob,1,4,25,1,,\r\n"
            + "eve,0,4,0,,,\"run 1 used commit=7 but student eve's value is 12, \"\"copied\"\"\\nsecond line\"\r\n"
            + "\"o'neil,jr\",4,4,100,2,2,\r\n"
        #expect(csv == expected)
    }

    @Test func csvFieldQuotingFollowsRFC4180() {
        #expect(CSVWriter.field("plain") == "plain")
        #expect(CSVWriter.field("a,b") == "\"a,b\"")
        #expect(CSVWriter.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVWriter.field("a\r\nb") == "\"a\r\nb\"")
        #expect(CSVWriter.field("") == "")
    }

    @Test func junitParsesWithTheRightCountsAndEscapedFailures() throws {
        let message = "expected <5> & got \"7\" 'x'\nsecond line \u{1} end"
        let xml = Gradebook.junit(suiteName: "journal-replay & co", cases: [
            (name: "replay-measured", className: "alice", failure: nil, seconds: 0.25),
            (name: "survivors", className: "alice", failure: message, seconds: 1),
            (name: "fast<mount>", className: "alice", failure: nil, seconds: .nan),
        ])
        let document = try XMLDocument(xmlString: xml, options: [])
        let root = try #require(document.rootElement())
        #expect(root.name == "testsuites")
        let suite = try #require(root.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "name")?.stringValue == "journal-replay & co")
        #expect(suite.attribute(forName: "tests")?.stringValue == "3")
        #expect(suite.attribute(forName: "failures")?.stringValue == "1")
        #expect(root.attribute(forName: "tests")?.stringValue == "3")
        let cases = suite.elements(forName: "testcase")
        #expect(cases.map { $0.attribute(forName: "name")?.stringValue } == ["replay-measured", "survivors", "fast<mount>"])
        #expect(cases.map { $0.attribute(forName: "time")?.stringValue } == ["0.250", "1.000", "0.000"])
        #expect(cases.allSatisfy { $0.attribute(forName: "classname")?.stringValue == "alice" })
        let failures = cases.flatMap { $0.elements(forName: "failure") }
        #expect(failures.count == 1)
        let failure = try #require(failures.first)
        #expect(failure.attribute(forName: "message")?.stringValue == "expected <5> & got \"7\" 'x'")
        #expect(failure.stringValue == "expected <5> & got \"7\" 'x'\nsecond line \u{FFFD} end")
    }

    @Test func junitWithNoCasesIsStillValid() throws {
        let document = try XMLDocument(xmlString: Gradebook.junit(suiteName: "empty", cases: []), options: [])
        let suite = try #require(document.rootElement()?.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "tests")?.stringValue == "0")
    }
}
