import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// The outcome of one check for one student: a gradebook cell and a line of feedback.
public struct CheckResult: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var points: Double
    /// Points earned, 0...points (partial credit for measurement checks), 3 decimals.
    public var earned: Double
    public var passed: Bool
    /// The rubric's pass or fail text, for the student.
    public var feedback: String?
    /// Why it passed or failed; for students it never reveals expected values.
    public var detail: String

    public init(id: String, title: String, points: Double, earned: Double, passed: Bool, feedback: String?,
                detail: String) {
        self.id = id
        self.title = title
        self.points = points
        self.earned = earned
        self.passed = passed
        self.feedback = feedback
        self.detail = detail
    }
}

/// One student's grade for one lab: what the gradebook and the feedback file are made of.
public struct GradeReport: Codable, Sendable, Equatable {
    public var student: String
    public var lab: String
    public var checks: [CheckResult]
    public var total: Double
    public var possible: Double
    /// total / possible × 100, 2 decimals (0 when nothing is possible).
    public var percent: Double
    /// Why the bundle was not graded (tampered, another student's, wrong lab); total is then 0.
    public var rejected: String?

    public init(student: String, lab: String, checks: [CheckResult], total: Double, possible: Double,
                percent: Double, rejected: String? = nil) {
        self.student = student
        self.lab = lab
        self.checks = checks
        self.total = total
        self.possible = possible
        self.percent = percent
        self.rejected = rejected
    }

    /// The report of a bundle that was refused: no checks, no points, and the reason (one
    /// line of at most 300 characters, whatever it quotes from the bundle).
    public static func rejection(student: String, lab: String, possible: Double, reason: String) -> GradeReport {
        GradeReport(student: student, lab: lab, checks: [], total: 0, possible: possible, percent: 0,
                    rejected: oneLineReason(reason))
    }
}

/// What a replay check asks the caller to run: the experiment in fresh guests, with these
/// parameters and these student files applied.
public struct ReplayRequest: Sendable, Hashable {
    /// The rubric check asking, for logs.
    public var checkID: String
    public var experiment: String
    /// Every parameter: the student's values, overridden by the check's `set` (substituted).
    public var parameters: [String: String]
    /// The student's artifacts named in `apply`.
    public var artifacts: [String: Data]

    public init(checkID: String, experiment: String, parameters: [String: String], artifacts: [String: Data]) {
        self.checkID = checkID
        self.experiment = experiment
        self.parameters = parameters
        self.artifacts = artifacts
    }
}

/// What a replay produced: its measurements, or why it could not run.
public struct ReplayOutcome: Sendable, Equatable {
    public var measurements: [RunMeasurement]
    public var error: String?
    /// The first kernel oops, panic or lockup trace of each VM that had one (`VM: trace`),
    /// shown in the feedback of the checks this replay failed.
    public var kernelEvents: [String]

    public init(measurements: [RunMeasurement], error: String? = nil, kernelEvents: [String] = []) {
        self.measurements = measurements
        self.error = error
        self.kernelEvents = kernelEvents
    }
}

/// Applies a rubric to evidence. Pure: it reads only the evidence, and replays go through the
/// caller's closure, so grading is testable without guests and never throws (every problem
/// becomes a failed check with its reason).
public struct Grader: Sendable {
    public let rubric: Rubric
    public let lab: LabSpec

    public init(rubric: Rubric, lab: LabSpec) {
        self.rubric = rubric
        self.lab = lab
    }

    /// Grades `evidence`. `replay` runs replay checks (nil: they earn 0 and say a replay is needed);
    /// `onlyLocal` keeps only the checks a student may run (`vmlab check`); `forStudent`
    /// words details so they never reveal expected values or ranges.
    public func grade(_ evidence: Evidence, replay: ((ReplayRequest) async throws -> ReplayOutcome)?,
                      onlyLocal: Bool = false, forStudent: Bool = false) async -> GradeReport {
        let checks = rubric.checks.filter { !onlyLocal || $0.local }
        let possible = checks.reduce(0) { $0 + $1.points }
        if rubric.lab != lab.name {
            return .rejection(student: evidence.student, lab: evidence.lab, possible: possible,
                              reason: "the rubric grades lab \(rubric.lab), not \(lab.name)")
        }
        if evidence.lab != rubric.lab {
            return .rejection(student: evidence.student, lab: evidence.lab, possible: possible,
                              reason: "the evidence is for lab '\(displayText(evidence.lab, limit: 64))', but this rubric grades \(rubric.lab)")
        }
        if let problem = evidence.problem(lab: lab, rubric: rubric) {
            return .rejection(student: evidence.student, lab: evidence.lab, possible: possible, reason: problem)
        }
        let context = GradingContext(evidence: evidence, lab: lab, questions: rubric.questions)
        // Checks asking for the same replay (experiment, values and files) share one run in
        // fresh guests: a lab may grade building, behaviour and kernel health of one replay.
        let shared = SharedReplays()
        var results: [CheckResult] = []
        for check in checks {
            let outcome: CheckOutcome
            if case .replay(let rule) = check.kind {
                outcome = await context.replay(rule, check: check, runner: replay, shared: shared)
            } else {
                outcome = context.evaluate(check)
            }
            let earned = roundTo(check.points * Swift.min(Swift.max(outcome.fraction, 0), 1), decimals: 3)
            results.append(CheckResult(id: check.id, title: check.title, points: check.points, earned: earned,
                                       passed: outcome.passed,
                                       feedback: outcome.passed ? check.passFeedback : check.failFeedback,
                                       detail: forStudent ? outcome.studentDetail : outcome.detail))
        }
        let total = roundTo(results.reduce(0) { $0 + $1.earned }, decimals: 3)
        let percent = possible > 0 ? roundTo(total / possible * 100, decimals: 2) : 0
        return GradeReport(student: evidence.student, lab: evidence.lab, checks: results, total: total,
                           possible: possible, percent: percent)
    }
}

/// A check's result before points: the share earned and two wordings of why.
struct CheckOutcome {
    var fraction: Double
    var passed: Bool
    /// For the teacher: values, expectations, counts.
    var detail: String
    /// For the student: pass/fail and what is missing, never what was expected.
    var studentDetail: String

    static func pass(_ detail: String, student: String = "passed") -> CheckOutcome {
        CheckOutcome(fraction: 1, passed: true, detail: detail, studentDetail: student)
    }

    static func fail(_ detail: String, student: String = "not passed") -> CheckOutcome {
        CheckOutcome(fraction: 0, passed: false, detail: detail, studentDetail: student)
    }
}

/// What the checks of one grade read: the evidence, and the namespaces expressions see,
/// each from its one source (described on `Evidence`).
struct GradingContext {
    let evidence: Evidence
    let lab: LabSpec
    /// The answers to questions the rubric asks; others are never graded.
    let answers: [String: String]
    /// Keys of answers to questions the rubric does not ask, sorted, for feedback.
    let unknownAnswers: [String]
    /// Parameters of the lab only.
    let parameters: [String: String]
    let variables: [String: Double]

    init(evidence: Evidence, lab: LabSpec, questions: Set<String>) {
        self.evidence = evidence
        self.lab = lab
        answers = evidence.answers.filter { questions.contains($0.key) }
        unknownAnswers = evidence.answers.keys.filter { !questions.contains($0) }.sorted()
        parameters = evidence.parameters.filter { lab.parameter($0.key) != nil }
        variables = Evidence.variables(measurements: evidence.usableMeasurements, parameters: parameters, answers: answers)
    }

    /// ` (answers.yaml also answers Q1, which this lab does not ask)`, or nothing.
    var unknownAnswersNote: String {
        guard !unknownAnswers.isEmpty else { return "" }
        let shown = unknownAnswers.prefix(5).map { "'\(displayText($0, limit: 40))'" }.joined(separator: ", ")
        return " (answers.yaml also answers \(shown)\(unknownAnswers.count > 5 ? " and more" : ""), "
            + "which this lab does not ask; check the question ids)"
    }

    func evaluate(_ check: RubricCheck) -> CheckOutcome {
        switch check.kind {
        case .measurement(let rule): return measurement(rule)
        case .answer(let rule): return answer(rule)
        case .artifact(let rule): return artifact(rule)
        case .ordered(let rule): return ordered(rule)
        case .expression(let e): return expression(e)
        case .replay: preconditionFailure("replays are graded asynchronously")
        }
    }

    func measurement(_ rule: MeasurementRule) -> CheckOutcome {
        let values = evidence.usableMeasurements.filter {
            $0.experiment == rule.runs.experiment && $0.name == rule.name && parametersMatch($0.parameters, rule.runs.where)
        }.map(\.value)
        let what = "\(rule.name) in \(rule.runs)"
        guard !values.isEmpty else {
            return .fail("no measurements of \(what) from successful runs",
                         student: "no matching measurements of \(rule.name) yet")
        }
        let rangeText = rule.range.map { "\(shortNumber($0.lowerBound))...\(shortNumber($0.upperBound))" } ?? ""
        if let range = rule.range {
            let outside = values.filter { !range.contains($0) }
            if !outside.isEmpty {
                let examples = outside.prefix(3).map(shortNumber).joined(separator: ", ")
                return .fail("\(outside.count) of \(values.count) measurements of \(what) are outside \(rangeText): \(examples)",
                             student: "a measured value of \(rule.name) is not in the expected range")
            }
        }
        let within = rule.range == nil ? "" : ", all within \(rangeText)"
        if values.count >= rule.minCount {
            return .pass("\(values.count) measurements of \(what)\(within)")
        }
        return CheckOutcome(fraction: Double(values.count) / Double(rule.minCount), passed: false,
                            detail: "\(values.count) of the \(rule.minCount) measurements of \(what) needed\(within)",
                            studentDetail: "partial credit: more measurements of \(rule.name) are needed")
    }

    func answer(_ rule: AnswerRule) -> CheckOutcome {
        let q = rule.question
        guard let raw = answers[q], !raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .fail("no answer to '\(q)'" + unknownAnswersNote, student: "no answer to '\(q)' in answers.yaml" + unknownAnswersNote)
        }
        let given = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        switch rule.expect {
        case .text(let expected):
            let wanted = expected.trimmingCharacters(in: .whitespacesAndNewlines)
            if given.compare(wanted, options: [.caseInsensitive]) == .orderedSame {
                return .pass("answer '\(given)' is correct", student: "correct")
            }
            return .fail("answer '\(given)', expected '\(wanted)'", student: "not correct")
        case let .value(expression, tolerance, relative):
            guard let number = Double(given), number.isFinite else {
                return .fail("answer '\(given)' is not a number", student: "the answer to '\(q)' is not a number")
            }
            let expected: Double
            do {
                expected = try expression.evaluate(variables)
            } catch {
                return .fail("cannot compute the expected value (\(expression.text)): \(error)",
                             student: "could not be checked: your results lack what the expected value is computed from")
            }
            let allowed = relative ? tolerance * Swift.abs(expected) : tolerance
            let slack = 1e-9 * Swift.max(1, Swift.abs(expected))  // floating point noise, not leniency
            let band = relative ? "\(shortNumber(tolerance * 100))%" : shortNumber(tolerance)
            if Swift.abs(number - expected) <= allowed + slack {
                return .pass("answer \(shortNumber(number)), expected \(shortNumber(expected)) ± \(band)", student: "correct")
            }
            return .fail("answer \(shortNumber(number)), expected \(shortNumber(expected)) ± \(band)", student: "not correct")
        }
    }

    func artifact(_ rule: ArtifactRule) -> CheckOutcome {
        guard let data = evidence.artifacts[rule.name] else {
            let known = evidence.artifacts.keys.sorted().joined(separator: ", ")
            return .fail("no artifact named \(rule.name) " + (known.isEmpty ? "(there are none)" : "(artifacts: \(known))"),
                         student: "no artifact named \(rule.name)")
        }
        let unexpected = "\(rule.name) does not have the expected content"
        let matches: Pattern?, notMatches: Pattern?
        do {
            matches = try rule.matches.map { pattern throws(PatternError) in try Pattern(pattern, multiline: true) }
            notMatches = try rule.notMatches.map { pattern throws(PatternError) in try Pattern(pattern, multiline: true) }
        } catch {
            return .fail("a pattern does not compile: \(error)", student: "could not be checked")
        }
        do {
            if let matches, try !matches.matches(data) {
                return .fail("\(rule.name) does not match /\(matches)/", student: unexpected)
            }
            if let notMatches, let end = try notMatches.firstMatchEnd(in: data) {
                // The line of the match's last character: where the DFA found it complete.
                let line = 1 + newlines(in: data.prefix(Swift.max(end - 1, 0)))
                return .fail("\(rule.name) matches /\(notMatches)/ at line \(line)", student: unexpected)
            }
        } catch {
            return .fail(PatternBudgetExceeded().description, student: PatternBudgetExceeded().description)
        }
        let parts = [rule.matches.map { "matches /\($0)/" }, rule.notMatches.map { "does not match /\($0)/" }]
        return .pass("\(rule.name) " + parts.compactMap { $0 }.joined(separator: " and "))
    }

    func ordered(_ rule: OrderedRule) -> CheckOutcome {
        func finished(_ filter: RunFilter) -> [Date] {
            evidence.runs.filter { $0.status == .ok && $0.experiment == filter.experiment && parametersMatch($0.parameters, filter.where) }
                .compactMap(\.finishedAt)
        }
        let before = finished(rule.before), after = finished(rule.after)
        guard let firstBefore = before.min() else {
            return .fail("no successful run of \(rule.before)", student: "no matching successful run of \(rule.before.experiment)")
        }
        guard let lastAfter = after.max() else {
            return .fail("no successful run of \(rule.after)", student: "no matching successful run of \(rule.after.experiment)")
        }
        let times = "\(rule.after) last finished \(iso8601Millis(lastAfter)), \(rule.before) first finished \(iso8601Millis(firstBefore))"
        if lastAfter > firstBefore { return .pass(times) }
        return .fail("no run of \(rule.after) finished after a run of \(rule.before) (\(times))",
                     student: "the runs were not done in the expected order")
    }

    func expression(_ expression: Formula) -> CheckOutcome {
        do {
            let value = try expression.evaluate(variables)
            let detail = "\(expression.text) is \(value != 0 ? "true" : "false")" + valuesText(expression, variables)
            return value != 0 ? .pass(detail) : .fail(detail)
        } catch {
            let missing = expression.identifiers.contains { $0.hasPrefix("answer.") && variables[$0] == nil }
            let note = missing ? unknownAnswersNote : ""
            return .fail("\(expression.text): \(error)" + note, student: "could not be evaluated with your results" + note)
        }
    }

    func replay(_ rule: ReplayRule, check: RubricCheck,
                runner: ((ReplayRequest) async throws -> ReplayOutcome)?, shared: SharedReplays = SharedReplays()) async -> CheckOutcome {
        guard let runner else { return .fail("needs a replay, and replays were not run", student: "checked when your work is replayed") }
        var references = self.parameters
        for (question, answer) in answers.sorted(by: { $0.key < $1.key }) {
            references["answer.\(question)"] = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var parameters = self.parameters
        for (name, template) in rule.set.sorted(by: { $0.key < $1.key }) {
            let value: String
            do {
                for case .reference(let ref) in try templatePieces(template)
                where ref.hasPrefix("answer.") && references[ref] == nil {
                    let q = ref.dropFirst(7)
                    return .fail("no answer to '\(q)' (the replay sets \(name) from it)" + unknownAnswersNote,
                                 student: "no answer to '\(q)' in answers.yaml" + unknownAnswersNote)
                }
                let text = try substitute(template, references)
                value = try arithmeticValue(text).map(shortNumber) ?? text
            } catch {
                return .fail("cannot set \(name): \(error)", student: "could not be replayed")
            }
            if let problem = lab.parameter(name)?.problem(with: value) {
                return .fail("the replay would set \(name)=\(value): \(problem)",
                             student: "your answers give \(name)=\(value), which cannot be used: \(problem)")
            }
            parameters[name] = value
        }
        var artifacts: [String: Data] = [:]
        for name in rule.apply {
            guard let data = evidence.artifacts[name] else {
                return .fail("no artifact named \(name) to apply", student: "no artifact named \(name)")
            }
            artifacts[name] = data
        }
        let request = ReplayRequest(checkID: check.id, experiment: rule.experiment, parameters: parameters, artifacts: artifacts)
        let outcome: ReplayOutcome
        do {
            if let earlier = shared.result(of: request) {
                outcome = try earlier.get()
            } else {
                let result: Result<ReplayOutcome, any Error>
                do { result = .success(try await runner(request)) } catch { result = .failure(error) }
                shared.keep(result, of: request)
                outcome = try result.get()
            }
        } catch {
            return .fail("the replay failed: \(error)", student: "the replay failed")
        }
        // The kernel's own words (an oops trace) belong in the feedback of a failed check:
        // they are the student's code failing, and say where.
        let kernelNote = outcome.kernelEvents.isEmpty ? "" : "\nkernel trouble in the replay:\n" + outcome.kernelEvents.joined(separator: "\n")
        let replayVariables = Evidence.variables(measurements: outcome.measurements, parameters: parameters,
                                                 answers: answers)
        if let error = outcome.error {
            // A replay that failed part-way (the module oopsed and the VM panicked in a later
            // step) still measured what came before it: a check those measurements satisfy
            // keeps its points; one that needs what never ran, or that they do not satisfy,
            // fails with the replay's error and the kernel's words.
            if let value = try? rule.expect.evaluate(replayVariables), value != 0 {
                return .pass("after the replay, \(rule.expect.text) is true" + valuesText(rule.expect, replayVariables)
                             + " (measured before the replay failed: \(error))")
            }
            return .fail("the replay failed: \(error)" + kernelNote, student: "the replay failed" + kernelNote)
        }
        do {
            let value = try rule.expect.evaluate(replayVariables)
            let detail = "after the replay, \(rule.expect.text) is \(value != 0 ? "true" : "false")"
                + valuesText(rule.expect, replayVariables)
            return value != 0 ? .pass(detail) : .fail(detail + kernelNote, student: "the replay did not give the expected result" + kernelNote)
        } catch {
            return .fail("after the replay, \(rule.expect.text): \(error)" + kernelNote,
                         student: "the replay did not give the expected result" + kernelNote)
        }
    }
}

/// One grade's replays, each distinct request run once: requests that differ only in the
/// asking check share the outcome (or the error).
final class SharedReplays {
    private var done: [ReplayRequest: Result<ReplayOutcome, any Error>] = [:]

    /// The request without the asking check: what decides the replay's outcome.
    private static func key(_ request: ReplayRequest) -> ReplayRequest {
        var key = request
        key.checkID = ""
        return key
    }

    func result(of request: ReplayRequest) -> Result<ReplayOutcome, any Error>? { done[Self.key(request)] }

    func keep(_ result: Result<ReplayOutcome, any Error>, of request: ReplayRequest) { done[Self.key(request)] = result }
}

/// How many LF bytes `data` holds (memchr: an artifact may have megabytes of them).
private func newlines(in data: Data) -> Int {
    data.withUnsafeBytes { raw in
        guard var p = raw.baseAddress else { return 0 }
        let end = p + raw.count
        var count = 0
        while p < end, let hit = memchr(p, 0x0A, end - p) {
            count += 1
            p = UnsafeRawPointer(hit) + 1
        }
        return count
    }
}

/// ` (a = 1, b = 2)`: the values an expression read, for the teacher.
private func valuesText(_ expression: Formula, _ variables: [String: Double]) -> String {
    let shown = expression.identifiers.sorted().compactMap { name in variables[name].map { "\(name) = \(shortNumber($0))" } }
    return shown.isEmpty ? "" : " (\(shown.joined(separator: ", ")))"
}
