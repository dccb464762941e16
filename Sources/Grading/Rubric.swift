import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport
import Yams

/// How a lab is graded (Grading/LAB.yaml): a list of checks, each worth points. Loaded with
/// every problem located as `file:line: field: message`, so a rubric mistake is found by the
/// teacher before it silently fails a whole class.
public struct Rubric: Sendable, Equatable {
    /// The lab the rubric grades.
    public var lab: String
    /// Percent of the possible points needed to pass (default 60).
    public var passMark: Double
    public var checks: [RubricCheck]
    /// Where the rubric was read from.
    public var source: URL

    public init(lab: String, passMark: Double = 60, checks: [RubricCheck], source: URL) {
        self.lab = lab
        self.passMark = passMark
        self.checks = checks
        self.source = source
    }

    /// The sum of the checks' points.
    public var possible: Double { checks.reduce(0) { $0 + $1.points } }

    /// Every question the rubric reads: answer checks, `answer.Q` in expressions and
    /// `${answer.Q}` in replay values. An answer to anything else is not graded.
    public var questions: Set<String> {
        var questions: Set<String> = []
        func read(_ formula: Formula) {
            for name in formula.identifiers where name.hasPrefix("answer.") { questions.insert(String(name.dropFirst(7))) }
        }
        for check in checks {
            switch check.kind {
            case .answer(let rule):
                questions.insert(rule.question)
                if case .value(let formula, _, _) = rule.expect { read(formula) }
            case .expression(let formula): read(formula)
            case .replay(let rule):
                read(rule.expect)
                for (_, template) in rule.set.sorted(by: { $0.key < $1.key }) {
                    for case .reference(let name) in (try? templatePieces(template)) ?? [] where name.hasPrefix("answer.") {
                        questions.insert(String(name.dropFirst(7)))
                    }
                }
            case .measurement, .artifact, .ordered: break
            }
        }
        return questions
    }

    /// The artifacts the rubric reads: artifact checks and replays' `apply`.
    public var artifactNames: Set<String> {
        var names: Set<String> = []
        for check in checks {
            switch check.kind {
            case .artifact(let rule): names.insert(rule.name)
            case .replay(let rule): names.formUnion(rule.apply)
            default: break
            }
        }
        return names
    }

    /// Whether a report reaches the pass mark (a rejected bundle never does).
    public func passes(_ report: GradeReport) -> Bool {
        report.rejected == nil && report.percent >= passMark
    }

    /// Reads and validates a rubric file. With `lab`, references are checked too: the lab's
    /// name, experiments, measurement names, parameters in `where` and `set`, and the names
    /// expressions use, so a typo is an error here rather than zero points for everyone.
    public static func load(_ url: URL, lab: LabSpec? = nil) throws -> Rubric {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw VMLabError(.notFound, "cannot read the rubric \(url.path)", cause: error)
        }
        return try parse(text, file: url.path, source: url, lab: lab)
    }

    /// Parses rubric text (as `load` does for a file); `file` names it in errors.
    public static func parse(_ text: String, file: String, source: URL? = nil, lab: LabSpec? = nil) throws -> Rubric {
        let (reader, top) = try SpecReader.parse(text, file: file)
        let rubric = RubricLoader(reader: reader, lab: lab).read(top, source: source ?? URL(fileURLWithPath: file))
        try reader.check()
        return rubric
    }
}

/// One graded item.
public struct RubricCheck: Sendable, Equatable {
    /// What a check looks at; exactly one per check.
    public enum Kind: Sendable, Equatable {
        case measurement(MeasurementRule)
        case answer(AnswerRule)
        case artifact(ArtifactRule)
        case ordered(OrderedRule)
        /// Passes when the expression is non-zero over the evidence's variables.
        case expression(Formula)
        case replay(ReplayRule)
    }

    /// Unique within the rubric, `[a-z0-9-]+`: a gradebook column.
    public var id: String
    public var title: String
    public var points: Double
    /// May run in `vmlab check` (a student's self-check); never for replays.
    public var local: Bool
    /// Shown to the student when the check passes / fails.
    public var passFeedback: String?
    public var failFeedback: String?
    public var kind: Kind

    public init(id: String, title: String, points: Double, local: Bool = true, passFeedback: String? = nil,
                failFeedback: String? = nil, kind: Kind) {
        self.id = id
        self.title = title
        self.points = points
        if case .replay = kind { self.local = false } else { self.local = local }
        self.passFeedback = passFeedback
        self.failFeedback = failFeedback
        self.kind = kind
    }
}

/// Runs of one experiment, optionally narrowed to parameter values.
public struct RunFilter: Sendable, Equatable, CustomStringConvertible {
    public var experiment: String
    /// Parameter → value the run must have had (numbers compare by value).
    public var `where`: [String: String]

    public init(experiment: String, where filter: [String: String] = [:]) {
        self.experiment = experiment
        self.where = filter
    }

    /// `crash-replay where commit=1`, for details.
    public var description: String {
        `where`.isEmpty ? experiment
            : experiment + " where " + `where`.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ", ")
    }
}

/// At least `minCount` measurements named `name` in matching runs, all within `range`.
public struct MeasurementRule: Sendable, Equatable {
    public var runs: RunFilter
    public var name: String
    public var range: ClosedRange<Double>?
    public var minCount: Int

    public init(runs: RunFilter, name: String, range: ClosedRange<Double>? = nil, minCount: Int = 1) {
        self.runs = runs
        self.name = name
        self.range = range
        self.minCount = minCount
    }
}

/// A value from answers.yaml compared with an expected number or text.
public struct AnswerRule: Sendable, Equatable {
    public enum Expect: Sendable, Equatable {
        /// A number computed over the evidence's variables, with a tolerance.
        case value(Formula, tolerance: Double, relative: Bool)
        /// Exact text, compared trimmed and case-insensitively.
        case text(String)
    }
    public var question: String
    public var expect: Expect

    public init(question: String, expect: Expect) {
        self.question = question
        self.expect = expect
    }
}

/// A submitted file's text must match and/or must not match regular expressions (`^`/`$`
/// match at line starts and ends). They are `Pattern`s: matched in linear time under a step
/// budget, so a crafted artifact earns 0 ("pattern check exceeded its budget") rather than
/// stalling the batch.
public struct ArtifactRule: Sendable, Equatable {
    public var name: String
    public var matches: String?
    public var notMatches: String?

    public init(name: String, matches: String? = nil, notMatches: String? = nil) {
        self.name = name
        self.matches = matches
        self.notMatches = notMatches
    }
}

/// Some successful run of `after` finished later than some successful run of `before`.
public struct OrderedRule: Sendable, Equatable {
    public var before: RunFilter
    public var after: RunFilter

    public init(before: RunFilter, after: RunFilter) {
        self.before = before
        self.after = after
    }
}

/// Re-runs an experiment in fresh guests with values from the student's answers and the
/// student's artifacts applied; `expect` is evaluated over the replay's measurements.
public struct ReplayRule: Sendable, Equatable {
    public var experiment: String
    /// Parameter → template with `${answer.QUESTION}` and `${PARAMETER}` references.
    public var set: [String: String]
    /// Artifact names copied into the replay.
    public var apply: [String]
    public var expect: Formula

    public init(experiment: String, set: [String: String] = [:], apply: [String] = [], expect: Formula) {
        self.experiment = experiment
        self.set = set
        self.apply = apply
        self.expect = expect
    }
}

// MARK: - Loading

private final class RubricLoader {
    static let kinds = ["measurement", "answer", "artifact", "ordered", "expression", "replay"]

    let reader: SpecReader
    let lab: LabSpec?

    init(reader: SpecReader, lab: LabSpec?) {
        self.reader = reader
        self.lab = lab
    }

    func read(_ top: MappingReader, source: URL) -> Rubric {
        let labName = top.string("lab", required: true) ?? ""
        if let lab, !labName.isEmpty, labName != lab.name {
            top.fail("lab", "this rubric is for lab '\(labName)', not '\(lab.name)'")
        }
        let passMark = top.number("pass-mark", range: 0...100) ?? 60
        var checks: [RubricCheck] = []
        if top.value("checks") == nil {
            top.failHere("checks", "is required: list at least one check")
        } else {
            let items = top.mappingList("checks")
            if items.isEmpty, top.value("checks")?.sequence?.isEmpty == true {
                top.fail("checks", "list at least one check")
            }
            var ids: Set<String> = []
            for m in items {
                if let check = self.check(m, ids: &ids) { checks.append(check) }
            }
        }
        top.finish()
        if reader.errors.isEmpty, !checks.isEmpty, checks.reduce(0, { $0 + $1.points }) <= 0 {
            top.fail("checks", "the checks are worth no points in total")
        }
        return Rubric(lab: labName, passMark: passMark, checks: checks, source: source)
    }

    /// One check; `ids` collects the ids seen so far (a broken check's id still counts).
    func check(_ m: MappingReader, ids: inout Set<String>) -> RubricCheck? {
        let id = m.string("id", required: true)
        if let id, !id.isEmpty, !isCheckID(id) {
            m.fail("id", "'\(id)' must be lowercase letters, digits and dashes, at most 64 characters")
        }
        if let id, !ids.insert(id).inserted {
            m.fail("id", "check id '\(id)' is used twice; ids name gradebook columns, so keep them unique")
        }
        let title = m.string("title") ?? id ?? ""
        let points = m.number("points", required: true)
        if let points, points <= 0 { m.fail("points", "points must be above 0, got \(formatNumber(points))") }
        let local = m.bool("local")
        var passFeedback: String?, failFeedback: String?
        if let f = m.mapping("feedback") {
            passFeedback = f.string("pass")
            failFeedback = f.string("fail")
            f.finish()
        }

        let present = RubricLoader.kinds.filter { m.keys.contains($0) }
        var kind: RubricCheck.Kind?
        if present.count == 1, let key = present.first {
            kind = self.kind(key, m)
        } else {
            for key in present { _ = m.value(key) }  // reported here, not again as unknown keys
            let list = RubricLoader.kinds.joined(separator: ", ")
            m.failHere(m.path, present.isEmpty ? "give the check's kind: one of \(list)"
                       : "a check has exactly one kind, but this one has \(present.joined(separator: " and "))")
        }
        if case .replay = kind, local == true {
            m.fail("local", "replay checks need fresh guests and never run in `vmlab check`; remove local: true")
        }
        m.finish()
        guard let id, let points, let kind else { return nil }
        return RubricCheck(id: id, title: title, points: points, local: local ?? true, passFeedback: passFeedback,
                           failFeedback: failFeedback, kind: kind)
    }

    func kind(_ key: String, _ m: MappingReader) -> RubricCheck.Kind? {
        if key == "expression" {
            guard let text = m.string("expression", required: true) else { return nil }
            return expression(text, m, "expression", names: allMeasureNames, answers: true).map { .expression($0) }
        }
        guard let k = m.mapping(key) else { return nil }
        defer { k.finish() }
        switch key {
        case "measurement":
            let runs = runFilter(k)
            let name = k.string("name", required: true)
            if let name, let experiment = runs?.experiment, let spec = lab?.experiment(experiment) {
                let names = measureNames(spec)
                if !names.contains(name) {
                    k.fail("name", "experiment \(experiment) measures no '\(name)' "
                           + (names.isEmpty ? "(it measures nothing)" : "(it measures: \(names.sorted().joined(separator: ", ")))"))
                }
            }
            let range = self.range(k)
            let minCount = k.int("min-count", range: 1...10_000) ?? 1
            guard let runs, let name else { return nil }
            return .measurement(MeasurementRule(runs: runs, name: name, range: range, minCount: minCount))
        case "answer":
            let question = k.string("question", required: true)
            if let question, !question.isEmpty, !isQuestionID(question) {
                k.fail("question", "'\(question)' must be lowercase letters, digits and underscores "
                       + "(it is also the variable answer.\(question))")
            }
            let hasExpect = k.keys.contains("expect"), hasEquals = k.keys.contains("equals")
            var expect: AnswerRule.Expect?
            if hasExpect == hasEquals {
                _ = k.value("expect"); _ = k.value("equals")
                k.failHere(k.path, hasExpect ? "give expect or equals, not both"
                           : "give expect (an expression for a number) or equals (exact text)")
            } else if hasEquals {
                for key in ["tolerance", "relative"] where k.keys.contains(key) {
                    _ = k.value(key)
                    k.fail(key, "\(key) applies to expect (numbers), not to equals (text)")
                }
                expect = k.string("equals", required: true).map { .text($0) }
            } else {
                let tolerance = k.number("tolerance") ?? 0
                if tolerance < 0 { k.fail("tolerance", "a tolerance cannot be negative") }
                let relative = k.bool("relative") ?? false
                if let text = k.string("expect", required: true),
                   let e = expression(text, k, "expect", names: allMeasureNames, answers: true) {
                    expect = .value(e, tolerance: Swift.max(tolerance, 0), relative: relative)
                }
            }
            guard let question, let expect else { return nil }
            return .answer(AnswerRule(question: question, expect: expect))
        case "artifact":
            let name = k.string("name", required: true)
            if let name, let problem = ArtifactName.problem(name) { k.fail("name", problem) }
            let matches = regex(k, "matches"), notMatches = regex(k, "not-matches")
            if !k.keys.contains("matches"), !k.keys.contains("not-matches") {
                k.failHere(k.path, "give matches, not-matches or both (regular expressions)")
            }
            guard let name, matches != nil || notMatches != nil else { return nil }
            return .artifact(ArtifactRule(name: name, matches: matches, notMatches: notMatches))
        case "ordered":
            let before = k.mapping("before", required: true).flatMap { b in defer { b.finish() }; return runFilter(b) }
            let after = k.mapping("after", required: true).flatMap { a in defer { a.finish() }; return runFilter(a) }
            guard let before, let after else { return nil }
            return .ordered(OrderedRule(before: before, after: after))
        case "replay":
            let experiment = self.experiment(k)
            var set: [String: String] = [:]
            if let s = k.mapping("set") {
                for key in s.keys {
                    guard let template = s.string(key) else { continue }
                    checkParameterName(key, s)
                    checkTemplate(template, s, key)
                    set[key] = template
                }
            }
            let apply = k.stringList("apply")
            for (index, name) in apply.enumerated() {
                if let problem = ArtifactName.problem(name) {
                    reader.fail(k.value("apply")?.sequence?[index], "\(k.field("apply"))[\(index)]", problem)
                }
            }
            let names = experiment.flatMap { lab?.experiment($0) }.map(measureNames) ?? allMeasureNames
            let expect = k.string("expect", required: true).flatMap { expression($0, k, "expect", names: names, answers: true) }
            guard let experiment, let expect else { return nil }
            return .replay(ReplayRule(experiment: experiment, set: set, apply: apply, expect: expect))
        default:
            preconditionFailure("check kind \(key) is listed but not read")
        }
    }

    // MARK: Fields

    func experiment(_ m: MappingReader) -> String? {
        guard let name = m.string("experiment", required: true), !name.isEmpty else { return nil }
        if let lab, lab.experiment(name) == nil {
            let known = lab.experiments.map(\.name).joined(separator: ", ")
            m.fail("experiment", "lab \(lab.name) has no experiment '\(name)' (experiments: \(known))")
        }
        return name
    }

    /// `experiment` and `where` of a mapping.
    func runFilter(_ m: MappingReader) -> RunFilter? {
        let experiment = self.experiment(m)
        var filter: [String: String] = [:]
        if let w = m.mapping("where") {
            for key in w.keys {
                guard let value = w.string(key) else { continue }
                checkParameterName(key, w)
                if let problem = lab?.parameter(key)?.problem(with: value) {
                    w.fail(key, problem)
                }
                filter[key] = value
            }
        }
        return experiment.map { RunFilter(experiment: $0, where: filter) }
    }

    func checkParameterName(_ name: String, _ m: MappingReader) {
        guard let lab, lab.parameter(name) == nil else { return }
        let known = lab.parameters.map(\.name).joined(separator: ", ")
        reader.fail(m.keyNodeFor(name), m.field(name), "lab \(lab.name) has no parameter '\(name)' "
                    + (known.isEmpty ? "(it has no parameters)" : "(parameters: \(known))"))
    }

    /// `set` values: `${answer.q}` and `${parameter}` references must be well formed (and known).
    func checkTemplate(_ template: String, _ m: MappingReader, _ key: String) {
        do {
            for case .reference(let name) in try templatePieces(template) {
                if name.hasPrefix("answer.") {
                    if !isQuestionID(String(name.dropFirst(7))) {
                        m.fail(key, "'${\(name)}' is not a question reference (answer. then a question id)")
                    }
                } else if let lab, lab.parameter(name) == nil {
                    m.fail(key, "unknown reference '${\(name)}': use ${answer.QUESTION} or a parameter of lab \(lab.name)")
                }
            }
        } catch let error as VMLabError {
            m.fail(key, error.message)
        } catch {
            m.fail(key, "\(error)")
        }
    }

    func range(_ m: MappingReader) -> ClosedRange<Double>? {
        guard let items = m.list("range") else { return nil }
        let bounds = items.compactMap { item -> Double? in
            guard case .scalar(let s) = item, let n = Double(s.string.trimmingCharacters(in: .whitespaces)),
                  n.isFinite else { return nil }
            return n
        }
        guard items.count == 2, bounds.count == 2 else {
            m.fail("range", "expected [low, high], two numbers")
            return nil
        }
        guard bounds[0] <= bounds[1] else {
            m.fail("range", "the low end \(formatNumber(bounds[0])) is above the high end \(formatNumber(bounds[1]))")
            return nil
        }
        return bounds[0]...bounds[1]
    }

    func regex(_ m: MappingReader, _ key: String) -> String? {
        guard let pattern = m.string(key) else { return nil }
        do {
            _ = try Pattern(pattern, multiline: true)
        } catch {
            m.fail(key, "'\(pattern)' is not a valid regular expression: \(error.message)")
            return nil
        }
        return pattern
    }

    /// Parses an expression; with a lab, every name must be one the evidence can provide.
    func expression(_ text: String, _ m: MappingReader, _ key: String, names: Set<String>, answers: Bool) -> Formula? {
        let expression: Formula
        do {
            expression = try Formula(text)
        } catch {
            m.fail(key, "\(error)")
            return nil
        }
        guard let lab else { return expression }
        for name in expression.identifiers.sorted() where lab.parameter(name) != nil && allMeasureNames.contains(name) {
            m.fail(key, "'\(name)' is both a parameter and a measure of lab \(lab.name): expressions read the parameter, "
                   + "so rename the measure in the lab")
        }
        for name in expression.identifiers.sorted() where !isProvidedName(name, lab: lab, measures: names, answers: answers) {
            m.fail(key, "unknown name '\(name)': use a parameter, a measurement N as N, N_count, N_min or N_max "
                   + "(optionally .PARAMETER_VALUE), or answer.QUESTION "
                   + (names.isEmpty ? "(nothing is measured)" : "(measurements: \(names.sorted().joined(separator: ", ")))"))
        }
        return expression
    }

    func isProvidedName(_ name: String, lab: LabSpec, measures: Set<String>, answers: Bool) -> Bool {
        if lab.parameter(name) != nil { return true }
        if answers, name.hasPrefix("answer."), isQuestionID(String(name.dropFirst(7))) { return true }
        let parts = name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let base = parts[0]
        let measured = measures.contains(base)
            || ["_count", "_min", "_max"].contains { base.hasSuffix($0) && measures.contains(String(base.dropLast($0.count))) }
        guard measured else { return false }
        guard parts.count == 2 else { return true }
        return lab.parameters.contains { parts[1].hasPrefix($0.name + "_") && parts[1].count > $0.name.count + 1 }
    }

    var allMeasureNames: Set<String> {
        lab.map { Set($0.experiments.flatMap(measureNames)) } ?? []
    }

    func measureNames(_ experiment: ExperimentSpec) -> Set<String> {
        Set(LabSpec.measureNames(of: experiment.steps))
    }
}

/// `[a-z0-9-]+`, at most 64 characters.
func isCheckID(_ id: String) -> Bool {
    (1...64).contains(id.count) && id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
}

/// `[a-z0-9_]+`, at most 64 characters (questions become `answer.QUESTION`).
func isQuestionID(_ id: String) -> Bool {
    (1...64).contains(id.count) && id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
}
