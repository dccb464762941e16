import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the rubric loader: the model it builds, and every mistake located as `file:line: field:`.
@Suite("Grading: Rubric")
struct GradingRubricTests {
    /// Every error of `text`, as `file:line: field: message` lines.
    func errors(_ text: String, lab: LabSpec? = GradingFixture.lab()) -> [String] {
        do {
            _ = try Rubric.parse(text, file: "rubric.yaml", lab: lab)
            return []
        } catch let error as SpecErrors {
            return error.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func readsEveryKind() throws {
        let rubric = try GradingFixture.rubric()
        #expect(rubric.lab == "journal-replay" && rubric.passMark == 50 && rubric.possible == 11)
        #expect(rubric.checks.map(\.id) == ["replay-measured", "survivors", "mode", "ruleset", "baseline-first",
                                            "fast-mount", "replay"])
        let first = rubric.checks[0]
        #expect(first.title == "A replay was measured at commit=1" && first.points == 2 && first.local)
        #expect(first.passFeedback == "Well measured." && first.failFeedback?.hasPrefix("Measure") == true)
        #expect(first.kind == .measurement(MeasurementRule(runs: RunFilter(experiment: "crash-replay", where: ["commit": "1"]),
                                                           name: "mount_ms", range: 0...60000, minCount: 3)))
        guard case .answer(let survivors) = rubric.checks[1].kind, case let .value(e, tolerance, relative) = survivors.expect else {
            Issue.record("survivors is not a numeric answer check")
            return
        }
        #expect(survivors.question == "q1" && e.text == "files_survived.commit_1" && tolerance == 0.05 && relative)
        #expect(rubric.checks[2].kind == .answer(AnswerRule(question: "q2", expect: .text("writeback"))))
        #expect(rubric.checks[3].kind == .artifact(ArtifactRule(name: "ruleset.nft", matches: "^\\s*tcp dport 23 drop",
                                                                notMatches: "accept all")))
        #expect(rubric.checks[4].kind == .ordered(OrderedRule(before: RunFilter(experiment: "crash-replay"),
                                                              after: RunFilter(experiment: "firewall", where: ["files": "1500"]))))
        #expect(rubric.checks[5].kind == .expression(try Formula("mount_ms.commit_1 < 10000 && mount_ms_count >= 3")))
        guard case .replay(let replay) = rubric.checks[6].kind else {
            Issue.record("the last check is not a replay")
            return
        }
        #expect(replay.experiment == "crash-replay" && replay.apply == ["ruleset.nft"])
        #expect(replay.set == ["commit": "${answer.commit}", "files": "${files}"])
        #expect(!rubric.checks[6].local)
    }

    @Test func defaultsAndTitleFallback() throws {
        let rubric = try Rubric.parse("lab: x\nchecks:\n  - {id: a, points: 1.5, expression: \"1\"}\n", file: "r.yaml")
        #expect(rubric.passMark == 60 && rubric.checks[0].title == "a" && rubric.checks[0].local)
        #expect(rubric.checks[0].points == 1.5)
    }

    @Test(arguments: [
        ("checks:\n  - {id: a, points: 1, expression: \"1\"}\n", "rubric.yaml:1: lab: is required"),
        ("lab: journal-replay\n", "rubric.yaml:1: checks: is required"),
        ("lab: journal-replay\nchecks: []\n", "rubric.yaml:2: checks: list at least one check"),
        ("lab: other\nchecks:\n  - {id: a, points: 1, expression: \"1\"}\n", "rubric.yaml:1: lab: this rubric is for lab 'other'"),
        ("lab: journal-replay\npass-mark: 120\nchecks:\n  - {id: a, points: 1, expression: \"1\"}\n",
         "rubric.yaml:2: pass-mark: 120 is out of range 0...100"),
        ("lab: journal-replay\nchecks:\n  - {id: a, points: 1, expression: \"1\", colour: red}\n",
         "rubric.yaml:3: checks[0].colour: unknown key"),
        ("lab: journal-replay\nchecks:\n  - {id: a, points: 1, expression: \"1\"}\n  - {id: a, points: 1, expression: \"1\"}\n",
         "rubric.yaml:4: checks[1].id: check id 'a' is used twice"),
        ("lab: journal-replay\nchecks:\n  - {id: Big_One, points: 1, expression: \"1\"}\n",
         "rubric.yaml:3: checks[0].id: 'Big_One' must be lowercase letters, digits and dashes"),
        ("lab: journal-replay\nchecks:\n  - {id: a, points: 0, expression: \"1\"}\n",
         "rubric.yaml:3: checks[0].points: points must be above 0"),
        ("lab: journal-replay\nchecks:\n  - {id: a, expression: \"1\"}\n", "rubric.yaml:3: checks[0].points: is required"),
        ("lab: journal-replay\nchecks:\n  - {id: a, points: 1}\n", "rubric.yaml:3: checks[0]: give the check's kind"),
        ("lab: journal-replay\nchecks:\n  - {id: a, points: 1, expression: \"1\", artifact: {name: x, matches: y}}\n",
         "rubric.yaml:3: checks[0]: a check has exactly one kind, but this one has artifact and expression"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    expression: \"(1 + 2\"\n",
         "rubric.yaml:5: checks[0].expression: expected ')' at column 7"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    expression: \"mount_sm < 3\"\n",
         "rubric.yaml:5: checks[0].expression: unknown name 'mount_sm'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    expression: \"mount_ms.comit_1 < 3\"\n",
         "rubric.yaml:5: checks[0].expression: unknown name 'mount_ms.comit_1'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    artifact: {name: x.txt, matches: \"(\"}\n",
         "rubric.yaml:5: checks[0].artifact.matches: '(' is not a valid regular expression"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    artifact: {name: x.txt}\n",
         "rubric.yaml:5: checks[0].artifact: give matches, not-matches or both"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    artifact: {name: ../x, matches: y}\n",
         "rubric.yaml:5: checks[0].artifact.name: artifact name '../x' contains a path separator"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: crash-replay, name: mount_ms, where: {commit: [1, 2]}}\n",
         "rubric.yaml:5: checks[0].measurement.where.commit: expected a text value"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: crash-replay, name: mount_ms, where: {comit: \"1\"}}\n",
         "rubric.yaml:5: checks[0].measurement.where.comit: lab journal-replay has no parameter 'comit'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: crash-replay, name: mount_ms, where: {commit: \"x\"}}\n",
         "rubric.yaml:5: checks[0].measurement.where.commit: expected a whole number, got 'x'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: crash, name: mount_ms}\n",
         "rubric.yaml:5: checks[0].measurement.experiment: lab journal-replay has no experiment 'crash'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: firewall, name: mount_ms}\n",
         "rubric.yaml:5: checks[0].measurement.name: experiment firewall measures no 'mount_ms' (it measures: blocked)"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: firewall, name: blocked, range: [5, 1]}\n",
         "rubric.yaml:5: checks[0].measurement.range: the low end 5 is above the high end 1"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: firewall, name: blocked, range: [5]}\n",
         "rubric.yaml:5: checks[0].measurement.range: expected [low, high], two numbers"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    measurement: {experiment: firewall, name: blocked, min-count: 0}\n",
         "rubric.yaml:5: checks[0].measurement.min-count: 0 is out of range"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    answer: {question: q1, expect: \"1\", equals: one}\n",
         "rubric.yaml:5: checks[0].answer: give expect or equals, not both"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    answer: {question: q1, equals: one, tolerance: 1}\n",
         "rubric.yaml:5: checks[0].answer.tolerance: tolerance applies to expect"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    answer: {question: Q-1, equals: one}\n",
         "rubric.yaml:5: checks[0].answer.question: 'Q-1' must be lowercase letters, digits and underscores"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    local: true\n    replay: {experiment: crash-replay, expect: \"1\"}\n",
         "rubric.yaml:5: checks[0].local: replay checks need fresh guests"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    replay: {experiment: crash-replay, set: {commit: \"${answer.x\"}, expect: \"1\"}\n",
         "rubric.yaml:5: checks[0].replay.set.commit: unterminated ${"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    replay: {experiment: crash-replay, set: {commit: \"${nope}\"}, expect: \"1\"}\n",
         "rubric.yaml:5: checks[0].replay.set.commit: unknown reference '${nope}'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    replay: {experiment: crash-replay, expect: \"blocked > 0\"}\n",
         "rubric.yaml:5: checks[0].replay.expect: unknown name 'blocked'"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    ordered: {before: {experiment: crash-replay}}\n",
         "rubric.yaml:5: checks[0].ordered.after: is required"),
        ("lab: journal-replay\nchecks:\n  - id: a\n    points: 1\n    feedback: {pass: ok, fial: no}\n    expression: \"1\"\n",
         "rubric.yaml:5: checks[0].feedback.fial: unknown key"),
    ])
    func mistakesAreLocated(_ text: String, _ expected: String) {
        let found = errors(text)
        #expect(found.contains { $0.hasPrefix(expected) }, "expected \(expected), got \(found)")
    }

    @Test func everyProblemIsReportedAtOnce() {
        let found = errors("""
            lab: journal-replay
            checks:
              - {id: a, points: 0, expression: "1 +"}
              - {id: a, points: 1, artifact: {name: .x, matches: "["}}
            """)
        #expect(found.count == 5, "\(found)")
    }

    @Test func withoutALabOnlySyntaxIsChecked() throws {
        let rubric = try Rubric.parse("""
            lab: anything
            checks:
              - {id: a, points: 1, expression: "whatever_name > 1"}
              - {id: b, points: 1, measurement: {experiment: nope, name: nothing, where: {p: "1"}}}
            """, file: "r.yaml")
        #expect(rubric.checks.count == 2)
    }

    @Test func loadNamesTheFileInErrors() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("Grading/journal-replay.yaml", "lab: journal-replay\nchecks:\n  - {id: a, points: -1, expression: \"1\"}\n")
        #expect {
            _ = try Rubric.load(file)
        } throws: { error in
            "\(error)".hasPrefix("\(file.path):3: checks[0].points:")
        }
        #expect(throws: VMLabError.self) { _ = try Rubric.load(dir.path("missing.yaml")) }
        try dir.write("Grading/ok.yaml", GradingFixture.rubricText)
        #expect(try Rubric.load(dir.path("Grading/ok.yaml"), lab: GradingFixture.lab()).checks.count == 7)
    }
}
