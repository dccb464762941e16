import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
@testable import VMLabSupport

/// A lab, a rubric and evidence shared by the grading tests.
enum GradingFixture {
    static func measure(_ name: String, _ unit: String = "n") -> Step {
        .measure(MeasureStep(name: name, unit: unit,
                             source: .command(vm: "box", command: "true", extract: .number, timeoutSeconds: 10)))
    }

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
            networks: [], vms: [VMSpec(name: "box")], setup: [],
            experiments: [
                ExperimentSpec(name: "crash-replay", steps: [measure("mount_ms", "ms"), .parallel([measure("files_survived")])]),
                ExperimentSpec(name: "firewall", steps: [measure("blocked")]),
            ],
            source: URL(fileURLWithPath: "/course/Labs/journal-replay/lab.yaml"),
            artifacts: [ArtifactSpec(name: "ruleset.nft", vm: "box", path: "/etc/nftables.conf")])
    }

    static let rubricText = """
    lab: journal-replay
    pass-mark: 50
    checks:
      - id: replay-measured
        title: A replay was measured at commit=1
        points: 2
        feedback: {pass: "Well measured.", fail: "Measure mount_ms at commit=1 three times."}
        measurement: {experiment: crash-replay, name: mount_ms, where: {commit: "1"}, range: [0, 60000], min-count: 3}
      - id: survivors
        title: Files surviving at commit=1
        points: 1
        answer: {question: q1, expect: "files_survived.commit_1", tolerance: 0.05, relative: true}
      - id: mode
        title: The journal mode that loses data
        points: 1
        answer: {question: q2, equals: writeback}
      - id: ruleset
        title: The ruleset drops telnet
        points: 1
        artifact: {name: ruleset.nft, matches: "^\\\\s*tcp dport 23 drop", not-matches: "accept all"}
      - id: baseline-first
        title: Baseline before the firewall
        points: 1
        ordered: {before: {experiment: crash-replay}, after: {experiment: firewall, where: {files: "1500"}}}
      - id: fast-mount
        title: Mount at commit=1 is fast
        points: 1
        expression: "mount_ms.commit_1 < 10000 && mount_ms_count >= 3"
      - id: replay
        title: The student's commit setting keeps 90% of the files
        points: 4
        replay: {experiment: crash-replay, set: {commit: "${answer.commit}", files: "${files}"}, apply: [ruleset.nft], expect: "files_survived >= files * 0.9"}
    """

    static func rubric() throws -> Rubric {
        try Rubric.parse(rubricText, file: "rubric.yaml", lab: lab())
    }

    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func run(_ id: Int64, _ experiment: String, _ parameters: [String: String], status: RunRecord.Status = .ok,
                    minutes: Double) -> RunSummary {
        RunSummary(id: id, experiment: experiment, parameters: parameters, status: status,
                   startedAt: t0.addingTimeInterval(minutes * 60 - 30), finishedAt: t0.addingTimeInterval(minutes * 60))
    }

    static func m(_ run: Int64, _ experiment: String, _ name: String, _ value: Double, _ parameters: [String: String],
                  repetition: Int = 0) -> RunMeasurement {
        RunMeasurement(runID: run, experiment: experiment, name: name, value: value, unit: "n", parameters: parameters,
                    repetition: repetition, takenAt: t0.addingTimeInterval(Double(run) * 60))
    }

    static let c1 = ["commit": "1", "files": "1500"]
    static let c5 = ["commit": "5", "files": "1500"]

    /// A student who did everything right.
    static func evidence() -> Evidence {
        Evidence(
            lab: "journal-replay", student: "alice",
            parameters: ["commit": "5", "files": "1500", "journal_mode": "ordered"],
            runs: [run(1, "crash-replay", c1, minutes: 1), run(2, "crash-replay", c1, minutes: 2),
                   run(3, "crash-replay", c1, minutes: 3), run(4, "crash-replay", c5, minutes: 4),
                   run(5, "firewall", c5, minutes: 5)],
            measurements: [
                m(1, "crash-replay", "mount_ms", 800, c1), m(1, "crash-replay", "files_survived", 1400, c1),
                m(2, "crash-replay", "mount_ms", 900, c1), m(2, "crash-replay", "files_survived", 1450, c1),
                m(3, "crash-replay", "mount_ms", 1000, c1), m(3, "crash-replay", "files_survived", 1500, c1),
                m(4, "crash-replay", "mount_ms", 300, c5), m(4, "crash-replay", "files_survived", 900, c5),
                m(5, "firewall", "blocked", 1, c5),
            ],
            answers: ["q1": "1460", "q2": " WriteBack ", "commit": "1"],
            artifacts: ["ruleset.nft": Data("table inet filter {\n  tcp dport 23 drop\n}\n".utf8)])
    }

    static func grade(_ evidence: Evidence, replay: ((ReplayRequest) async throws -> ReplayOutcome)? = nil,
                      onlyLocal: Bool = false, forStudent: Bool = false) async throws -> GradeReport {
        await Grader(rubric: try rubric(), lab: lab()).grade(evidence, replay: replay, onlyLocal: onlyLocal,
                                                             forStudent: forStudent)
    }
}

extension GradeReport {
    func check(_ id: String) -> CheckResult? { checks.first { $0.id == id } }
}

/// Guards grading: every check kind passing, failing and (for measurements) partly passing,
/// replays through the closure, local-only and student-facing reports.
@Suite("Grading: Grader")
struct GradingGraderTests {
    typealias F = GradingFixture

    @Test func aGoodStudentPassesEveryCheck() async throws {
        let report = try await F.grade(F.evidence()) { request in
            ReplayOutcome(measurements: [F.m(99, "crash-replay", "files_survived", 1480, request.parameters)])
        }
        for check in report.checks { #expect(check.passed, "\(check.id): \(check.detail)") }
        #expect(report.total == 11 && report.possible == 11 && report.percent == 100 && report.rejected == nil)
        #expect(report.check("replay-measured")?.feedback == "Well measured.")
        #expect(try F.rubric().passes(report))
    }

    @Test func variablesFollowTheDocumentedNaming() {
        let v = F.evidence().variables
        #expect(v["mount_ms"] == 850)  // median of 300, 800, 900, 1000
        #expect(v["mount_ms_count"] == 4 && v["mount_ms_min"] == 300 && v["mount_ms_max"] == 1000)
        #expect(v["mount_ms.commit_1"] == 900 && v["mount_ms_count.commit_1"] == 3)
        #expect(v["files_survived.commit_5"] == 900)
        #expect(v["commit"] == 5 && v["files"] == 1500 && v["journal_mode"] == nil)
        #expect(v["answer.q1"] == 1460 && v["answer.q2"] == nil)
        #expect(Evidence.variableSuffix("Write-Back 1.5") == "write_back_1.5")
    }

    @Test func measurementGivesPartialCreditBelowMinCount() async throws {
        var e = F.evidence()
        e.measurements.removeAll { $0.runID == 2 || $0.runID == 3 }
        let check = try #require(try await F.grade(e).check("replay-measured"))
        #expect(!check.passed && abs(check.earned - 0.667) < 1e-9)
        #expect(check.detail.contains("1 of the 3"))
        #expect(check.feedback == "Measure mount_ms at commit=1 three times.")
    }

    @Test func measurementOutOfRangeEarnsNothingAndFailedRunsDoNotCount() async throws {
        var e = F.evidence()
        e.measurements.append(F.m(3, "crash-replay", "mount_ms", 70000, F.c1, repetition: 1))
        var check = try #require(try await F.grade(e).check("replay-measured"))
        #expect(!check.passed && check.earned == 0 && check.detail.contains("outside 0...60000: 70000"))

        e.runs[2].status = .failed  // run 3 failed: its measurements (including 70000) are ignored
        check = try #require(try await F.grade(e).check("replay-measured"))
        #expect(!check.passed && abs(check.earned - 1.333) < 1e-9)

        e.measurements.removeAll { $0.name == "mount_ms" }
        check = try #require(try await F.grade(e).check("replay-measured"))
        #expect(!check.passed && check.earned == 0 && check.detail.contains("no measurements"))
    }

    @Test func numericAnswerWithinTolerancePassesAndOutsideFails() async throws {
        var e = F.evidence()
        e.answers["q1"] = "1500"  // expected 1450 ± 5%
        #expect(try await F.grade(e).check("survivors")?.passed == true)
        e.answers["q1"] = "1600"
        let wrong = try #require(try await F.grade(e).check("survivors"))
        #expect(!wrong.passed && wrong.detail.contains("expected 1450 ± 5%"))
        e.answers["q1"] = "about 1500"
        #expect(try await F.grade(e).check("survivors")?.detail.contains("not a number") == true)
        e.answers["q1"] = nil
        #expect(try await F.grade(e).check("survivors")?.detail == "no answer to 'q1'")
        e.answers["q1"] = "1450"
        e.measurements.removeAll { $0.name == "files_survived" }
        let unknown = try #require(try await F.grade(e).check("survivors"))
        #expect(!unknown.passed && unknown.detail.contains("unknown name 'files_survived.commit_1'"))
    }

    @Test func absoluteToleranceAndTextAnswers() async throws {
        let lab = F.lab()
        let rubric = try Rubric.parse("""
            lab: journal-replay
            checks:
              - {id: a, points: 1, answer: {question: q1, expect: "files / 3", tolerance: 0.5}}
              - {id: b, points: 1, answer: {question: q2, equals: "Writeback"}}
            """, file: "r.yaml", lab: lab)
        var e = F.evidence()
        e.answers["q1"] = "500.4"
        var report = await Grader(rubric: rubric, lab: lab).grade(e, replay: nil)
        #expect(report.check("a")?.passed == true && report.check("b")?.passed == true)
        e.answers = ["q1": "501", "q2": "ordered"]
        report = await Grader(rubric: rubric, lab: lab).grade(e, replay: nil)
        #expect(report.check("a")?.passed == false && report.check("b")?.passed == false)
        #expect(report.total == 0)
    }

    @Test func artifactMustMatchAndMustNotMatch() async throws {
        var e = F.evidence()
        e.artifacts["ruleset.nft"] = Data("tcp dport 22 drop\n".utf8)
        #expect(try await F.grade(e).check("ruleset")?.detail.contains("does not match") == true)
        e.artifacts["ruleset.nft"] = Data("tcp dport 23 drop\n# accept all\n".utf8)
        let bad = try #require(try await F.grade(e).check("ruleset"))
        #expect(!bad.passed && bad.detail.contains("matches /accept all/ at line 2"))
        e.artifacts = [:]
        #expect(try await F.grade(e).check("ruleset")?.detail.contains("no artifact named ruleset.nft") == true)
    }

    @Test func orderedNeedsALaterRunOfAfter() async throws {
        var e = F.evidence()
        #expect(try await F.grade(e).check("baseline-first")?.passed == true)
        e.runs[4] = F.run(5, "firewall", F.c5, minutes: 0.5)  // before every crash-replay run
        let early = try #require(try await F.grade(e).check("baseline-first"))
        #expect(!early.passed && early.detail.contains("no run of firewall"))
        e.runs.removeAll { $0.experiment == "firewall" }
        #expect(try await F.grade(e).check("baseline-first")?.detail.contains("no successful run of firewall") == true)
        e = F.evidence()
        e.runs[4].parameters["files"] = "2000"  // the `where` no longer matches
        #expect(try await F.grade(e).check("baseline-first")?.passed == false)
    }

    @Test func expressionPassesWhenNonZeroAndFailsWithItsValues() async throws {
        var e = F.evidence()
        #expect(try await F.grade(e).check("fast-mount")?.passed == true)
        e.measurements = e.measurements.map { var m = $0; if m.name == "mount_ms" { m.value *= 20 }; return m }
        let slow = try #require(try await F.grade(e).check("fast-mount"))
        #expect(!slow.passed && slow.detail.contains("is false") && slow.detail.contains("mount_ms.commit_1 = 18000"))
        e.measurements = []
        let missing = try #require(try await F.grade(e).check("fast-mount"))
        #expect(!missing.passed && missing.detail.contains("unknown name"))
    }

    @Test func replayWithoutAClosureNeedsReplay() async throws {
        let check = try #require(try await F.grade(F.evidence()).check("replay"))
        #expect(!check.passed && check.earned == 0 && check.detail == "needs a replay, and replays were not run")
    }

    @Test func replayReceivesSubstitutedParametersAndArtifacts() async throws {
        let seen = Recorder()
        let report = try await F.grade(F.evidence()) { request in
            await seen.record(request)
            return ReplayOutcome(measurements: [F.m(9, "crash-replay", "files_survived", 1200, request.parameters)])
        }
        let request = try #require(await seen.requests.first)
        #expect(request.checkID == "replay" && request.experiment == "crash-replay")
        #expect(request.parameters["commit"] == "1" && request.parameters["files"] == "1500")
        #expect(request.parameters["journal_mode"] == "ordered")
        #expect(request.artifacts.keys.sorted() == ["ruleset.nft"])
        let check = try #require(report.check("replay"))
        #expect(!check.passed && check.detail.contains("files_survived = 1200"))
    }

    @Test func checksAskingForTheSameReplayShareOneRunAndShowTheKernelsTrace() async throws {
        let second = """
              - id: replay-again
                title: The same replay, another expectation
                points: 1
                replay: {experiment: crash-replay, set: {commit: "${answer.commit}", files: "${files}"}, apply: [ruleset.nft], expect: "files_survived >= 0"}
            """
        let rubric = try Rubric.parse(F.rubricText + "\n" + second + "\n", file: "rubric.yaml", lab: F.lab())
        let seen = Recorder()
        let report = await Grader(rubric: rubric, lab: F.lab()).grade(F.evidence(), replay: { request in
            await seen.record(request)
            return ReplayOutcome(measurements: [F.m(9, "crash-replay", "files_survived", 10, request.parameters)],
                                 kernelEvents: ["box: BUG: kernel NULL pointer dereference"])
        }, onlyLocal: false, forStudent: true)
        #expect(await seen.requests.count == 1)
        #expect(report.check("replay-again")?.passed == true)
        let failed = try #require(report.check("replay"))
        #expect(!failed.passed && failed.detail.contains("BUG: kernel NULL pointer dereference"))
        #expect(report.check("replay-again")?.detail.contains("NULL") == false)
    }

    /// A replay whose VM panicked in a later step keeps the points its earlier measurements
    /// earned (the build), and the checks that needed the rest fail with the replay's error.
    @Test func aReplayThatFailsPartWayKeepsWhatItMeasured() async throws {
        let second = """
              - id: replay-built
                title: Measured before the failure
                points: 2
                replay: {experiment: crash-replay, set: {commit: "${answer.commit}", files: "${files}"}, apply: [ruleset.nft], expect: "mount_ms < 100"}
              - id: replay-unmeasured
                title: Needs a measure the failed replay never took
                points: 1
                replay: {experiment: crash-replay, set: {commit: "${answer.commit}", files: "${files}"}, apply: [ruleset.nft], expect: "files_survived >= 1"}
            """
        let rubric = try Rubric.parse(F.rubricText + "\n" + second + "\n", file: "rubric.yaml", lab: F.lab())
        let report = await Grader(rubric: rubric, lab: F.lab()).grade(F.evidence(), replay: { request in
            ReplayOutcome(measurements: [F.m(9, "crash-replay", "mount_ms", 40, request.parameters)],
                          error: "box: the guest panicked (shut off, crashed)",
                          kernelEvents: ["box: BUG: kernel NULL pointer dereference"])
        }, onlyLocal: false, forStudent: false)
        let built = try #require(report.check("replay-built"))
        #expect(built.passed && built.earned == 2 && built.detail.contains("measured before the replay failed"))
        let unmeasured = try #require(report.check("replay-unmeasured"))
        #expect(!unmeasured.passed && unmeasured.earned == 0)
        #expect(unmeasured.detail.contains("the replay failed: box: the guest panicked")
                && unmeasured.detail.contains("NULL pointer dereference"))
        // files_survived was not measured: the original check fails, and says why.
        let replay = try #require(report.check("replay"))
        #expect(!replay.passed && replay.detail.contains("the replay failed"))
    }

    @Test func replayValuesWrittenAsArithmeticAreComputed() async throws {
        let text = F.rubricText.replacingOccurrences(of: #"commit: "${answer.commit}""#, with: #"commit: "= ${answer.commit} * 4 + 1""#)
        let rubric = try Rubric.parse(text, file: "rubric.yaml", lab: F.lab())
        let seen = Recorder()
        _ = await Grader(rubric: rubric, lab: F.lab()).grade(F.evidence(), replay: { request in
            await seen.record(request)
            return ReplayOutcome(measurements: [])
        }, onlyLocal: false, forStudent: false)
        #expect(await seen.requests.first?.parameters["commit"] == "5")

        let fractional = text.replacingOccurrences(of: "* 4 + 1", with: "/ 3")
        let report = await Grader(rubric: try Rubric.parse(fractional, file: "rubric.yaml", lab: F.lab()), lab: F.lab())
            .grade(F.evidence(), replay: { _ in ReplayOutcome(measurements: []) }, onlyLocal: false, forStudent: false)
        #expect(report.check("replay")?.detail.contains("commit=0.3333: expected a whole number") == true)
    }

    @Test func replayFailuresAndBadAnswersFailTheCheck() async throws {
        var report = try await F.grade(F.evidence()) { _ in ReplayOutcome(measurements: [], error: "guest did not boot") }
        #expect(report.check("replay")?.detail == "the replay failed: guest did not boot")
        report = try await F.grade(F.evidence()) { _ in throw VMLabError(.timeout, "replay timed out") }
        #expect(report.check("replay")?.detail.contains("replay timed out") == true)

        var e = F.evidence()
        let calls = Recorder()
        e.answers["commit"] = "soon"
        report = try await F.grade(e) { request in
            await calls.record(request)
            return ReplayOutcome(measurements: [])
        }
        #expect(report.check("replay")?.detail.contains("commit=soon: expected a whole number") == true)
        e.answers["commit"] = nil
        report = try await F.grade(e) { request in
            await calls.record(request)
            return ReplayOutcome(measurements: [])
        }
        #expect(report.check("replay")?.detail.contains("no answer to 'commit'") == true)
        #expect(await calls.requests.isEmpty, "a replay that cannot be set up never runs")
    }

    @Test func onlyLocalLeavesOutReplays() async throws {
        let report = try await F.grade(F.evidence(), onlyLocal: true)
        #expect(report.check("replay") == nil && report.possible == 7 && report.total == 7)
        #expect(try F.rubric().checks.first { $0.id == "replay" }?.local == false)
    }

    @Test func studentDetailsHideExpectedValues() async throws {
        var e = F.evidence()
        e.measurements.append(F.m(3, "crash-replay", "mount_ms", 70000, F.c1, repetition: 1))
        e.answers["q1"] = "1"
        e.artifacts["ruleset.nft"] = Data("nothing".utf8)
        let report = try await F.grade(e, forStudent: true)
        let texts = report.checks.map(\.detail).joined(separator: "\n")
        for secret in ["60000", "1450", "tcp dport", "10000", "5%"] {
            #expect(!texts.contains(secret), "student details reveal \(secret): \(texts)")
        }
        #expect(report.check("survivors")?.detail == "not correct")
        #expect(report.check("replay-measured")?.feedback == "Measure mount_ms at commit=1 three times.")
    }

    @Test func evidenceForAnotherLabIsRejected() async throws {
        var e = F.evidence()
        e.lab = "other-lab"
        let report = try await F.grade(e)
        #expect(report.rejected?.contains("other-lab") == true && report.total == 0 && report.checks.isEmpty)
        #expect(try !F.rubric().passes(report))
    }
}

/// Collects replay requests across the grader's async calls.
actor Recorder {
    var requests: [ReplayRequest] = []
    func record(_ request: ReplayRequest) { requests.append(request) }
}
