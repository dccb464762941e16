import Foundation
@testable import Grading
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the strict evidence model: what a bundle may name is checked against the lab and
/// the rubric, parameters and measures never share a namespace, and aggregates are the
/// grader's own, computed in an order no dictionary can change.
@Suite("Grading: evidence rules")
struct GradingEvidenceRulesTests {
    typealias F = GradingFixture

    func rejection(_ e: Evidence) async throws -> String? {
        let report = try await F.grade(e)
        if report.rejected != nil { #expect(report.total == 0 && report.checks.isEmpty) }
        return report.rejected
    }

    @Test func whatVmlabRecordsIsAccepted() async throws {
        #expect(try await rejection(F.evidence()) == nil)
    }

    @Test func anUnknownMeasureRejectsTheBundle() async throws {
        var e = F.evidence()
        e.measurements.append(F.m(1, "crash-replay", "mount_ms_count", 99, F.c1))
        #expect(try await rejection(e) == "measurement 10 (run 1) is named 'mount_ms_count', which experiment crash-replay of "
                + "lab journal-replay does not measure (it measures: files_survived, mount_ms)")
        e = F.evidence()
        e.measurements.append(F.m(5, "firewall", "mount_ms", 1, F.c5))  // a measure, but of another experiment
        #expect(try await rejection(e)?.contains("which experiment firewall of lab journal-replay does not measure") == true)
    }

    @Test func aMeasurementNamedLikeAParameterIsRejectedNotReadAsIt() async throws {
        var e = F.evidence()
        e.measurements.append(F.m(1, "crash-replay", "files", 10, F.c1))
        #expect(try await rejection(e)?.contains("is named 'files', which experiment crash-replay") == true)
        // And even where no lab checks it, the parameter namespace wins.
        let v = Evidence.variables(measurements: [F.m(1, "crash-replay", "files", 10, [:])], parameters: ["files": "1500"],
                                   answers: [:])
        #expect(v["files"] == 1500 && v["files_count"] == 1)
    }

    @Test func unknownParametersAndExperimentsRejectTheBundle() async throws {
        var e = F.evidence()
        e.runs[0].parameters["max_loss"] = "1000"
        #expect(try await rejection(e)?.hasPrefix("run 1 has the parameter 'max_loss', which lab journal-replay does not have") == true)
        e = F.evidence()
        e.measurements[0].parameters["\u{1B}[2J"] = "1"
        #expect(try await rejection(e)?.hasPrefix("measurement 1 (run 1) has the parameter '\\u{1B}[2J'") == true)
        e = F.evidence()
        e.runs[1].parameters["commit"] = "0"
        #expect(try await rejection(e) == "run 2 has commit=0, which lab journal-replay refuses: 0 is below the minimum 1")
        e = F.evidence()
        e.runs[0].experiment = "exfiltrate"
        #expect(try await rejection(e) == "run 1 is of experiment 'exfiltrate', which lab journal-replay does not have")
        e = F.evidence()
        e.measurements[0].experiment = "firewall"
        #expect(try await rejection(e) == "measurement 1 (run 1) says experiment firewall, but run 1 is of experiment crash-replay")
    }

    @Test func anArtifactNobodyAskedForRejectsTheBundle() async throws {
        var e = F.evidence()
        e.artifacts["notes.txt"] = Data("hi".utf8)
        #expect(try await rejection(e) == "the artifact 'notes.txt' is neither declared by lab journal-replay nor read by the rubric")
    }

    @Test func anUnknownAnswerKeyEarnsNothingAndSaysSo() async throws {
        var e = F.evidence()
        e.answers["Q1"] = e.answers.removeValue(forKey: "q1")
        e.answers["answer.files"] = "3"
        let report = try await F.grade(e)
        #expect(report.rejected == nil)
        let check = try #require(report.check("survivors"))
        #expect(check.earned == 0 && check.detail == "no answer to 'q1' (answers.yaml also answers 'Q1', 'answer.files', "
                + "which this lab does not ask; check the question ids)")
        let student = try await F.grade(e, forStudent: true)
        #expect(student.check("survivors")?.detail.contains("answers.yaml also answers 'Q1'") == true)
        #expect(try F.rubric().questions == ["q1", "q2", "commit"])
    }

    @Test func aggregatesAreTheGradersOwnAndTheLongerMeasureNameWins() throws {
        // A lab that measures both x and x_count: `x_count` is that measure, never the count of x.
        let ms = [F.m(1, "e", "x", 1, ["p": "a"]), F.m(2, "e", "x", 3, ["p": "b"]), F.m(3, "e", "x", 5, ["p": "b"]),
                  F.m(1, "e", "x_count", 40, ["p": "a"]), F.m(2, "e", "x_count", 50, ["p": "b"])]
        for order in [ms, ms.reversed(), [ms[3], ms[0], ms[4], ms[2], ms[1]]] {
            let v = Evidence.measureVariables(order)
            #expect(v["x"] == 3 && v["x_max"] == 5 && v["x.p_b"] == 4 && v["x_count.p_b"] == 50)
            #expect(v["x_count"] == 45 && v["x_count_count"] == 2 && v["x_count_max"] == 50)
        }
        // Two parameters that give one suffix count a measurement once.
        let v = Evidence.measureVariables([F.m(1, "e", "y", 7, ["a_b": "c", "a": "b_c"])])
        #expect(v["y_count.a_b_c"] == 1)
    }

    @Test func aRubricReadingANameThatIsBothParameterAndMeasureIsRefused() throws {
        var lab = F.lab()
        lab.experiments[1].steps.append(F.measure("files"))
        #expect {
            _ = try Rubric.parse("lab: journal-replay\nchecks:\n  - {id: a, points: 1, expression: \"files > 1\"}\n",
                                 file: "rubric.yaml", lab: lab)
        } throws: { error in
            "\(error)".contains("'files' is both a parameter and a measure of lab journal-replay")
        }
    }

    @Test func aPatternOverItsBudgetEarnsNothingAndSaysSo() async throws {
        let lab = F.lab()
        let rubric = try Rubric.parse("""
            lab: journal-replay
            checks:
              - {id: explodes, points: 1, artifact: {name: ruleset.nft, matches: "(a|b)*a(a|b){14}c"}}
              - {id: fine, points: 1, artifact: {name: ruleset.nft, not-matches: "accept all"}}
            """, file: "rubric.yaml", lab: lab)
        var e = F.evidence()
        var x: UInt64 = 88_172_645_463_325_252  // xorshift: a's and b's in no pattern a DFA could cache
        e.artifacts["ruleset.nft"] = Data((0..<(256 << 10)).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return x & 1 == 0 ? 97 : 98
        })
        // The checks as the grader evaluates them, on a dispatch thread: spending the budget
        // takes about 2 s of CPU in a debug build, which the async tests beside this one need.
        let evidence = e
        let (outcomes, seconds) = try await offThePool {
            let context = GradingContext(evidence: evidence, lab: lab, questions: rubric.questions)
            let started = ContinuousClock.now
            return (rubric.checks.map { context.evaluate($0) }, (ContinuousClock.now - started).seconds)
        }
        #expect(seconds < 60, "about 2 s alone: the bound only catches a hang on a busy machine")
        #expect(outcomes[0].fraction == 0 && !outcomes[0].passed)
        #expect(outcomes[0].detail == "pattern check exceeded its budget"
                && outcomes[0].studentDetail == "pattern check exceeded its budget")
        #expect(outcomes[1].passed, "one check's budget does not spill into the next")
    }
}
