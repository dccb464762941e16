import Foundation
@testable import Grading
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Seeded mutation of valid bundles, graded the way `vmlab grade` grades them: whatever a
/// student does to a bundle (re-sealing the digest, as anyone can), the grader never
/// crashes, never takes long, and never gives more points than the original on the checks
/// that depend on per-student parameters. The original answers those checks with another
/// student's values, so any mutation that smuggles parameters in would show.
///
/// Seeds: a fixed list, plus `VMLAB_FUZZ_SEED` (a number) to replay or explore; every
/// failure names its seed and mutation.
@Suite("Grading: mutated bundles", .serialized)
struct GradingFuzzTests {
    static let mutationsPerSeed = 40
    static var seeds: [UInt64] {
        [1, 2, 3] + (ProcessInfo.processInfo.environment["VMLAB_FUZZ_SEED"].flatMap { UInt64($0) }.map { [$0] } ?? [])
    }

    typealias Random = SeededRandom

    /// The checks whose expected value reads a parameter of the lab.
    static func parameterChecks(_ rubric: Rubric, _ lab: LabSpec) -> Set<String> {
        func reads(_ formula: Formula) -> Bool { formula.identifiers.contains { lab.parameter($0) != nil } }
        return Set(rubric.checks.filter { check in
            switch check.kind {
            case .answer(let rule): if case .value(let f, _, _) = rule.expect { return reads(f) } else { return false }
            case .expression(let f): return reads(f)
            default: return false
            }
        }.map(\.id))
    }

    /// The first half of `vmlab grade`'s path for one file's bytes: reading and verifying.
    static func read(_ data: Data, lab: LabSpec) -> Result<Submission, SubmissionError> {
        do {
            let submission = try Submission.decode(data)
            guard submission.lab == lab.name else { throw SubmissionError("another lab") }
            try submission.verifyParameters(lab: lab, secret: CourseBundles.secret)
            return .success(submission)
        } catch {
            return .failure(error as? SubmissionError ?? SubmissionError("\(error)"))
        }
    }

    /// The second half: grading what was read.
    static func grade(_ read: Result<Submission, SubmissionError>, lab: LabSpec, rubric: Rubric) async -> GradeReport {
        switch read {
        case .success(let submission):
            return await Grader(rubric: rubric, lab: lab).grade(Evidence(submission: submission, lab: lab, secret: CourseBundles.secret),
                                                                replay: nil)
        case .failure(let error):
            return .rejection(student: "file", lab: lab.name, possible: rubric.possible, reason: error.reason)
        }
    }

    /// The reference bundle of fuzz-a, with the answers of the checks that read parameters
    /// computed for fuzz-b (or far off), so it earns none of their points.
    static func original(_ labName: String) throws -> Submission {
        var bundle = try CourseBundles.referenceSubmission(labName, student: "fuzz-a")
        let other = try CourseBundles.referenceSubmission(labName, student: "fuzz-b")
        let lab = try CourseBundles.lab(labName)
        let rubric = try CourseBundles.rubric(lab)
        for check in rubric.checks where parameterChecks(rubric, lab).contains(check.id) {
            switch check.kind {
            case .answer(let rule): bundle.answers[rule.question] = other.answers[rule.question]
            case .expression(let formula):
                // Far outside any per-student range: only a smuggled parameter could pass it.
                for name in formula.identifiers where name.hasPrefix("answer.") { bundle.answers[String(name.dropFirst(7))] = "1000000" }
            default: break
            }
        }
        return bundle
    }

    static func seal(_ s: Submission) throws -> Data {
        var sealed = s
        sealed.digest = try s.computedDigest()
        let encoder = Submission.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(sealed)
    }

    /// One structural mutation, re-sealed, or one textual mutation of the sealed bytes.
    static func mutate(_ original: Submission, lab: LabSpec, random r: inout Random) throws -> (String, Data) {
        var s = original
        let parameters = lab.parameters.map(\.name)
        let measures = lab.experiments.flatMap { LabSpec.measureNames(of: $0.steps) }
        let names = parameters + measures + measures.flatMap { [$0 + "_count", $0 + "_max", $0 + "_min"] }
            + ["max_loss", "service_port", "vuln_port", "ws", "answer.max_ratio", "x.ws_96", "", "\u{1B}[2J", "ws\u{301}", "WS"]
        let values = ["0", "1", "-1", "96", "2080", "1e308", "abc", "", " 96", "0x60", "96.0000001", "\u{202E}6"]
        // Half the time: a parameter with fuzz-b's value, which would earn the points if it got through.
        let theirs = StudentParameters.parameters(lab: lab, student: "fuzz-b", secret: CourseBundles.secret)
        func smuggled() -> (String, String) {
            if r.below(2) == 0, let p = theirs.keys.sorted().randomElement(using: &r) { return (p, theirs[p]!) }
            return (r.pick(names), r.pick(values))
        }
        let kind = r.below(16)
        var what = ""
        switch kind {
        case 0 where !s.runs.isEmpty:
            let i = r.below(s.runs.count), (p, v) = smuggled()
            s.runs[i].parameters[p] = v
            what = "run \(i) sets \(p)=\(v)"
        case 1 where !s.measurements.isEmpty:
            let i = r.below(s.measurements.count), (p, v) = smuggled()
            s.measurements[i].parameters[p] = v
            what = "measurement \(i) sets \(p)=\(v)"
        case 2 where !s.measurements.isEmpty, 10 where !s.measurements.isEmpty:
            var m = r.pick(s.measurements)
            let (name, value) = smuggled()
            m.name = name
            m.value = Double(value) ?? r.pick([0, 1, 96, 1e9, -5, 2080, 5050])
            s.measurements.append(m)
            what = "adds measurement \(m.name)=\(m.value)"
        case 3:
            let key = r.pick(names + ["answer", "Q1"] + s.answers.keys.sorted()), v = r.pick(values)
            s.answers[key] = v
            what = "answers \(key)=\(v)"
        case 4 where !s.runs.isEmpty:
            let i = r.below(s.runs.count)
            s.runs[i].parameters.removeValue(forKey: r.pick(parameters))
            what = "run \(i) loses a parameter"
        case 5:
            s.student = r.pick(["fuzz-b", "fuzz-c", "reference", s.student + "x"])
            what = "student \(s.student)"
        case 6 where !s.measurements.isEmpty:
            let i = r.below(s.measurements.count)
            s.measurements[i].value = r.pick([0, -1, 1e12, 4, 2080])
            what = "measurement \(i) value \(s.measurements[i].value)"
        case 7 where !s.runs.isEmpty:
            let i = r.below(s.runs.count)
            s.runs[i].status = r.pick([.failed, .ok, .running])
            s.runs[i].experiment = r.pick(lab.experiments.map(\.name) + ["nope"])
            what = "run \(i) status/experiment"
        case 8:
            s.artifacts[r.pick(["ruleset.nft", "notes.txt", "x"])] = Data(String(repeating: "hook input ", count: r.below(5000)).utf8)
                .base64EncodedString()
            what = "artifact"
        case 9 where !s.measurements.isEmpty:
            let i = r.below(s.measurements.count)
            s.measurements[i].runID = Int64(r.below(100))
            s.measurements[i].experiment = r.pick(lab.experiments.map(\.name))
            what = "measurement \(i) moves run"
        default:
            // Textual: the sealed bytes edited without re-sealing, or with duplicate keys.
            var text = String(decoding: try seal(s), as: UTF8.self)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let i = r.below(lines.count)
            switch r.below(5) {
            case 0: lines.insert(lines[i].hasSuffix(",") ? lines[i] : lines[i] + ",", at: i); what = "line \(i) twice"
            case 1: lines.remove(at: i); what = "line \(i) removed"
            case 2: text = String(lines.joined(separator: "\n").prefix(r.below(text.count))); return ("truncated", Data(text.utf8))
            case 3:
                lines[i] = lines[i].replacingOccurrences(of: "1", with: "7")
                what = "line \(i) digits"
            default:
                lines[i] += String(repeating: "[", count: r.below(2000))
                what = "line \(i) nesting"
            }
            return (what, Data(lines.joined(separator: "\n").utf8))
        }
        return (what.isEmpty ? "unchanged" : what, try seal(s))
    }

    @Test(arguments: ["mem-overcommit", "net-attack", "journal-replay"])
    func mutatedBundlesNeverCrashHangOrGainParameterPoints(_ labName: String) async throws {
        let lab = try CourseBundles.lab(labName)
        let rubric = try CourseBundles.rubric(lab)
        let watched = Self.parameterChecks(rubric, lab)
        #expect(!watched.isEmpty, "\(labName) has checks that read parameters")
        let original = try Self.original(labName)
        let baseline = await Self.grade(Self.read(try Self.seal(original), lab: lab), lab: lab, rubric: rubric)
        #expect(baseline.rejected == nil, "\(baseline.rejected ?? "")")
        func points(_ report: GradeReport) -> Double {
            report.checks.filter { watched.contains($0.id) }.reduce(0) { $0 + $1.earned }
        }
        #expect(points(baseline) == 0, "the original answers with another student's values")
        for seed in Self.seeds {
            print("fuzz \(labName): seed \(seed)")
            var random = Random(state: seed)
            var rejected = 0
            for n in 0..<Self.mutationsPerSeed {
                // Mutating and decoding run on a dispatch thread: the cooperative pool is
                // for the async tests beside this one.
                let state = random
                let (what, read, next, readSeconds) = try await offThePool {
                    var random = state
                    let (what, data) = try Self.mutate(original, lab: lab, random: &random)
                    let started = ContinuousClock.now
                    let read = Self.read(data, lab: lab)
                    return (what, read, random, (ContinuousClock.now - started).seconds)
                }
                random = next
                let started = ContinuousClock.now
                let report = await Self.grade(read, lab: lab, rubric: rubric)
                let seconds = readSeconds + (ContinuousClock.now - started).seconds
                if report.rejected != nil { rejected += 1 }
                #expect(seconds < 5, "seed \(seed) #\(n) (\(what)) took \(seconds) s")
                #expect(points(report) <= points(baseline), "seed \(seed) #\(n) (\(what)) gained parameter points")
                #expect(report.total <= report.possible && (report.rejected == nil || report.total == 0))
                if let reason = report.rejected {
                    #expect(!reason.contains("\n") && reason.unicodeScalars.count <= 300, "seed \(seed) #\(n): \(reason)")
                }
            }
            #expect(rejected > Self.mutationsPerSeed / 4, "seed \(seed): most mutations should be refused (\(rejected))")
        }
    }
}
