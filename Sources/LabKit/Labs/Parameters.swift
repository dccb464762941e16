import Foundation

/// A piece of a step's text: literal text or a `${name}` parameter reference.
enum TemplatePiece: Equatable {
    case literal(String)
    case reference(String)
}

/// Splits `text` into literal runs and `${name}` references; `$${` is a literal `${`
/// (so a shell command can still use `$${HOME}`-style text).
func templatePieces(_ text: String) throws -> [TemplatePiece] {
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
        let value = try Expression(String(trimmed.dropFirst())).evaluate([:])
        guard value.isFinite else { throw VMLabError(.invalidInput, "'\(trimmed)' is not a finite number") }
        return value
    } catch let error as ExpressionError {
        throw VMLabError(.invalidInput, "'\(trimmed)': \(error)")
    }
}

/// A plain number or `= arithmetic`; nil when the text is neither.
public func numberValue(_ text: String) throws -> Double? {
    try arithmeticValue(text) ?? Double(text.trimmingCharacters(in: .whitespaces))
}

extension Step {
    /// The step with every `${name}` in its text fields replaced (nested steps included),
    /// done just before the step runs so one lab serves every parameter combination.
    public func substituted(_ values: [String: String]) throws -> Step {
        func s(_ text: String) throws -> String { try substitute(text, values) }
        switch self {
        case let .exec(vm, command, timeout, allowFailure):
            return .exec(vm: try s(vm), command: try s(command), timeoutSeconds: timeout, allowFailure: allowFailure)
        case .crash(let vm):
            return .crash(vm: try s(vm))
        case .start(let vm):
            return .start(vm: try s(vm))
        case .shutdown(let vm):
            return .shutdown(vm: try s(vm))
        case let .waitForAgent(vm, timeout):
            return .waitForAgent(vm: try s(vm), timeoutSeconds: timeout)
        case let .snapshot(vm, name):
            return .snapshot(vm: try s(vm), name: try s(name))
        case let .revert(vm, name):
            return .revert(vm: try s(vm), name: try s(name))
        case let .setCPU(vm, shares, period, quota):
            return .setCPU(vm: try s(vm), shares: try shares.map(s), period: try period.map(s), quota: try quota.map(s))
        case let .setMemory(vm, mebibytes):
            return .setMemory(vm: try s(vm), mebibytes: try s(mebibytes))
        case let .link(vm, nic, up):
            return .link(vm: try s(vm), nic: nic, up: up)
        case let .copyIn(vm, from, to):
            return .copyIn(vm: try s(vm), from: try s(from), to: try s(to))
        case let .copyOut(vm, from, name):
            return .copyOut(vm: try s(vm), from: try s(from), name: try s(name))
        case .sleep(let seconds):
            return .sleep(seconds: try s(seconds))
        case .parallel(let steps):
            return .parallel(try steps.map { try $0.substituted(values) })
        case .measure(let m):
            let source: MeasureSpec.Source
            switch m.source {
            case let .command(vm, command, extract, timeout):
                let e: MeasureSpec.Extract
                switch extract {
                case .number: e = .number
                case .exitCode: e = .exitCode
                case .regex(let r): e = .regex(try s(r))
                case .matches(let r): e = .matches(try s(r))
                }
                source = .command(vm: try s(vm), command: try s(command), extract: e, timeoutSeconds: timeout)
            case .duration(let step):
                source = .duration(try step.substituted(values))
            case let .cpuTime(vm, step):
                source = .cpuTime(vm: vm, during: try step.substituted(values))
            case .expression:
                source = m.source
            }
            return .measure(MeasureSpec(name: try s(m.name), unit: try s(m.unit), source: source))
        }
    }
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

extension LabSpec {
    /// The runs `vmlab run LAB EXP --set k=v --sweep k=a,b --repeat N` asks for: defaults,
    /// overridden by the student's values, then by `sets`; one run per combination of the
    /// `sweeps` (first sweep varies slowest), each repeated `repeat` times in a row.
    /// Everything is checked before anything runs, so a typo costs no VM time.
    public static func plan(for lab: LabSpec, sets: [String], sweeps: [String], repeat: Int,
                            studentValues: [String: String] = [:]) throws -> [RunPlan] {
        guard (1...100).contains(`repeat`) else {
            throw VMLabError(.invalidInput, "--repeat \(`repeat`): give a count from 1 to 100")
        }
        var values: [String: String] = [:]
        for p in lab.parameters {
            values[p.name] = p.defaultValue
            if let student = studentValues[p.name] {
                if let problem = p.problem(with: student) {
                    throw VMLabError(.invalidInput, "student value \(p.name)=\(student): \(problem)")
                }
                values[p.name] = student
            }
        }

        var given: [String: String] = [:]  // parameter -> the option that set it, for duplicate messages
        func parameter(_ option: String, _ argument: String) throws -> (ParameterSpec, String) {
            guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else {
                let form = option == "--sweep" ? "NAME=VALUE1,VALUE2,..." : "NAME=VALUE"
                throw VMLabError(.invalidInput, "\(option) \(argument): expected \(form)")
            }
            let name = String(argument[..<eq])
            guard let p = lab.parameter(name) else {
                let known = lab.parameters.map(\.name).joined(separator: ", ")
                throw VMLabError(.invalidInput, "\(option) \(argument): lab \(lab.name) has no parameter '\(name)' "
                                 + (known.isEmpty ? "(it has no parameters)" : "(parameters: \(known))"))
            }
            if p.perStudent {
                throw VMLabError(.invalidInput, "\(option) \(argument): \(name) is set per student and cannot be overridden")
            }
            if let earlier = given[name] {
                throw VMLabError(.invalidInput, "\(option) \(argument): \(name) is already given by \(earlier); give it once")
            }
            given[name] = "\(option) \(argument)"
            return (p, String(argument[argument.index(after: eq)...]))
        }

        for argument in sets {
            let (p, value) = try parameter("--set", argument)
            if let problem = p.problem(with: value) {
                throw VMLabError(.invalidInput, "--set \(argument): \(problem)")
            }
            values[p.name] = value
        }

        var axes: [(name: String, values: [String])] = []
        for argument in sweeps {
            let (p, list) = try parameter("--sweep", argument)
            let items = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if list.isEmpty || items.contains(where: \.isEmpty) {
                throw VMLabError(.invalidInput, "--sweep \(argument): list values separated by commas, none empty")
            }
            for item in items {
                if let problem = p.problem(with: item) {
                    throw VMLabError(.invalidInput, "--sweep \(argument): \(problem)")
                }
            }
            axes.append((p.name, items))
        }

        var combinations: [[String: String]] = [values]
        for axis in axes {
            combinations = combinations.flatMap { base in
                axis.values.map { value in
                    var next = base
                    next[axis.name] = value
                    return next
                }
            }
        }
        return combinations.flatMap { combination in
            (0..<`repeat`).map { RunPlan(parameters: combination, repetition: $0) }
        }
    }
}
