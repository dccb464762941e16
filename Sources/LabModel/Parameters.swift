import Foundation
import VMLabSupport

/// A piece of a step's text: literal text or a `${name}` parameter reference.
package enum TemplatePiece: Equatable {
    case literal(String)
    case reference(String)
}

/// Splits `text` into literal runs and `${name}` references; `$${` is a literal `${`
/// (so a shell command can still use `$${HOME}`-style text).
package func templatePieces(_ text: String) throws -> [TemplatePiece] {
    var pieces: [TemplatePiece] = []
    var literal = ""
    var rest = Substring(text)
    while let dollar = rest.firstIndex(of: "$") {
        literal += rest[..<dollar]
        let after = rest[dollar...]
        if after.hasPrefix("$${") {
            literal += "${"
            rest = after.dropFirst(3)
        } else if after.hasPrefix("${") {
            let body = after.dropFirst(2)
            guard let close = body.firstIndex(of: "}") else {
                throw VMLabError(.invalidInput, "unterminated ${ in '\(text)': close it with } or write $${ for a literal ${")
            }
            let name = String(body[..<close])
            guard !name.isEmpty else {
                throw VMLabError(.invalidInput, "empty ${} in '\(text)': write ${name} with a parameter name")
            }
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = ""
            pieces.append(.reference(name))
            rest = body[body.index(after: close)...]
        } else {
            literal += "$"
            rest = after.dropFirst()
        }
    }
    literal += rest
    if !literal.isEmpty { pieces.append(.literal(literal)) }
    return pieces
}

/// Replaces every `${name}` in `text` with `values[name]`; `$${` stays a literal `${`.
/// An unknown name is an error rather than an empty string, so a typo never runs a wrong command.
public func substitute(_ text: String, _ values: [String: String]) throws -> String {
    guard text.contains("$") else { return text }
    return try templatePieces(text).map { piece in
        switch piece {
        case .literal(let s):
            return s
        case .reference(let name):
            guard let value = values[name] else {
                let known = values.keys.sorted().joined(separator: ", ")
                throw VMLabError(.invalidInput, "unknown parameter '\(name)' in '\(text)' "
                                 + (known.isEmpty ? "(no parameters are set)" : "(parameters: \(known))"))
            }
            return value
        }
    }.joined()
}

/// A value written `= expression` is arithmetic on numbers, evaluated after `${name}`
/// substitution (`= 512 / ${ratio}` -> 204.8), so a lab or a rubric can derive one value
/// from another; any other text is not arithmetic and gives nil.
public func arithmeticValue(_ text: String) throws -> Double? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasPrefix("=") else { return nil }
    do {
        let value = try Formula(String(trimmed.dropFirst())).evaluate([:])
        guard value.isFinite else { throw VMLabError(.invalidInput, "'\(trimmed)' is not a finite number") }
        return value
    } catch let error as FormulaError {
        throw VMLabError(.invalidInput, "'\(trimmed)': \(error)")
    }
}

/// A plain number or `= arithmetic`; nil when the text is neither.
public func numberValue(_ text: String) throws -> Double? {
    try arithmeticValue(text) ?? Double(text.trimmingCharacters(in: .whitespaces))
}

/// One run of an experiment: the value of every lab parameter, and which repetition it is.
public struct RunPlan: Sendable, Equatable {
    /// Every parameter of the lab, by name, as text ready for `${name}`.
    public var parameters: [String: String]
    /// 0-based index among the runs with the same parameters (`--repeat`).
    public var repetition: Int

    public init(parameters: [String: String], repetition: Int) {
        self.parameters = parameters
        self.repetition = repetition
    }
}

/// A value the person running an experiment gives one parameter for every run.
public struct ParameterSetting: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Values of one parameter to run the experiment with, one run per value.
public struct ParameterSweep: Sendable, Equatable {
    public var name: String
    public var values: [String]

    public init(_ name: String, _ values: [String]) {
        self.name = name
        self.values = values
    }
}

/// What a person asks of an experiment: fixed values, swept values and repetitions.
public struct RunRequest: Sendable, Equatable {
    public var settings: [ParameterSetting]
    public var sweeps: [ParameterSweep]
    public var repetitions: Int

    public init(settings: [ParameterSetting] = [], sweeps: [ParameterSweep] = [], repetitions: Int = 1) {
        self.settings = settings
        self.sweeps = sweeps
        self.repetitions = repetitions
    }
}

extension LabSpec {
    public static let maxRepetitions = 100

    /// The runs `request` asks for: defaults, overridden by the student's values, then by
    /// the settings; one run per combination of the sweeps (first sweep varies slowest),
    /// each repeated in a row. Everything is checked before anything runs, so a typo costs
    /// no VM time.
    public func plan(_ request: RunRequest, studentValues: [String: String] = [:]) throws -> [RunPlan] {
        guard (1...Self.maxRepetitions).contains(request.repetitions) else {
            throw VMLabError(.invalidInput, "\(request.repetitions) repetitions: give a count from 1 to \(Self.maxRepetitions)")
        }
        var values: [String: String] = [:]
        for p in parameters {
            values[p.name] = p.defaultValue
            if let student = studentValues[p.name] {
                if let problem = p.problem(with: student) {
                    throw VMLabError(.invalidInput, "student value \(p.name)=\(student): \(problem)")
                }
                values[p.name] = student
            }
        }

        var given: Set<String> = []
        func overridable(_ name: String) throws -> ParameterSpec {
            guard let p = parameter(name) else {
                let known = parameters.map(\.name).joined(separator: ", ")
                throw VMLabError(.invalidInput, "lab \(self.name) has no parameter '\(name)' "
                                 + (known.isEmpty ? "(it has no parameters)" : "(parameters: \(known))"))
            }
            if p.perStudent {
                throw VMLabError(.invalidInput, "parameter \(name) is set per student and cannot be overridden")
            }
            guard given.insert(name).inserted else {
                throw VMLabError(.invalidInput, "parameter \(name) is given more than once; give it once")
            }
            return p
        }

        for setting in request.settings {
            let p = try overridable(setting.name)
            if let problem = p.problem(with: setting.value) {
                throw VMLabError(.invalidInput, "parameter \(p.name)=\(setting.value): \(problem)")
            }
            values[p.name] = setting.value
        }

        for sweep in request.sweeps {
            let p = try overridable(sweep.name)
            if sweep.values.isEmpty || sweep.values.contains(where: \.isEmpty) {
                throw VMLabError(.invalidInput, "parameter \(p.name): sweep over one or more values, none empty")
            }
            for value in sweep.values {
                if let problem = p.problem(with: value) {
                    throw VMLabError(.invalidInput, "parameter \(p.name)=\(value) of the sweep: \(problem)")
                }
            }
        }

        var combinations: [[String: String]] = [values]
        for sweep in request.sweeps {
            combinations = combinations.flatMap { base in
                sweep.values.map { value in
                    var next = base
                    next[sweep.name] = value
                    return next
                }
            }
        }
        return combinations.flatMap { combination in
            (0..<request.repetitions).map { RunPlan(parameters: combination, repetition: $0) }
        }
    }
}
