import Foundation
import VMLabSupport
import Yams

/// `{name, unit, vm, command, regex | matches | exit-code}`: a number from a command run in a guest.
public struct CommandMeasure: MeasureSource, Equatable {
    public static let selector: String? = nil
    public static let form = "`{name, unit, vm, command, timeout: 300}` and at most one of `regex`, `matches`, `exit-code: true`"
    public static let summary = "runs a command in the guest: the trimmed output is the number, or the first capture group "
        + "of `regex`, or 1/0 whether the output `matches`, or the exit status"
    public static let defaultUnit: String? = nil
    public static let schema: JSONValue = Schema.object(required: ["name", "unit", "vm", "command"], [
        "name": Schema.ref("measureName"),
        "unit": ["type": "string"],
        "vm": Schema.ref("vmRef"),
        "command": Schema.ref("text"),
        "timeout": Schema.ref("seconds"),
        "regex": ["type": "string", "description": "First capture group (or the whole match) is the number."],
        "matches": ["type": "string", "description": "1 when the output matches, else 0."],
        "exit-code": ["type": "boolean", "description": "The exit status is the value."],
    ], description: "Run a command and record a number from it.")
        .merging(["not": ["anyOf": [["required": ["regex", "matches"]], ["required": ["regex", "exit-code"]],
                                    ["required": ["matches", "exit-code"]]]]])

    public enum Extract: Sendable, Equatable {
        /// The trimmed output is the number.
        case number
        /// The first capture group of the regex (or the whole match) is the number.
        case regex(String)
        /// 1 when the output matches the regex, else 0.
        case matches(String)
        /// The command's exit status is the value.
        case exitCode
    }

    public var vm: String
    public var command: String
    public var extract: Extract
    public var timeoutSeconds: Int

    public init(vm: String, command: String, extract: Extract = .number, timeoutSeconds: Int = 300) {
        self.vm = vm
        self.command = command
        self.extract = extract
        self.timeoutSeconds = timeoutSeconds
    }

    public static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> CommandMeasure? {
        let vm = context.vm(m)
        let command = context.requiredText(m, "command")
        let timeout = m.int("timeout", range: 1...86400) ?? 300
        let regex = context.optionalText(m, "regex")
        let matches = context.optionalText(m, "matches")
        let exitCode = m.bool("exit-code") ?? false
        let given = [regex.map { _ in "regex" }, matches.map { _ in "matches" }, exitCode ? "exit-code" : nil].compactMap { $0 }
        if given.count > 1 {
            m.failHere(m.path, "give at most one of regex, matches, exit-code (found \(given.joined(separator: ", ")))")
        }
        let extract: Extract = regex.map { .regex($0) } ?? matches.map { .matches($0) } ?? (exitCode ? .exitCode : .number)
        guard let vm, !command.isEmpty else { return nil }
        return CommandMeasure(vm: vm, command: command, extract: extract, timeoutSeconds: timeout)
    }

    /// The compiled pattern: the one place it is checked, at load time and at run time. A
    /// `Pattern`, not NSRegularExpression: a guest's output is not trusted to be kind to a
    /// backtracking matcher.
    func compiled() throws(StepProblem) -> Pattern? {
        let (field, pattern): (String, String)
        switch extract {
        case .regex(let p): (field, pattern) = ("regex", p)
        case .matches(let p): (field, pattern) = ("matches", p)
        case .number, .exitCode: return nil
        }
        do { return try Pattern(pattern) } catch {
            throw StepProblem(field, "'\(pattern)' is not a valid regular expression: \(error.message)")
        }
    }

    public func check() throws(StepProblem) { _ = try compiled() }

    public func substituted(_ values: [String: String]) throws -> CommandMeasure {
        var s = self
        s.vm = try substitute(vm, values)
        s.command = try substitute(command, values)
        switch extract {
        case .regex(let r): s.extract = .regex(try substitute(r, values))
        case .matches(let r): s.extract = .matches(try substitute(r, values))
        case .number, .exitCode: break
        }
        return s
    }

    public func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?) {
        let regex = try compiled()
        let result = try await lab.vm(vm).shell(command, timeout: .seconds(timeoutSeconds))
        return (try value(from: result, regex: regex, measure: name), result.stdoutText + result.stderrText)
    }

    /// Turns a command's result into the measured number.
    func value(from result: ExecResult, regex: Pattern?, measure: String) throws -> Double {
        let text = result.stdoutText
        func fail(_ why: String) -> VMLabError {
            VMLabError(.failed, "measure \(measure) on \(vm): \(why); output was: \(text.suffix(300))"
                + (result.stderr.isEmpty ? "" : " stderr: \(result.stderrText.suffix(300))"))
        }
        switch extract {
        case .exitCode:
            return Double(result.exitCode)
        case .matches:
            do {
                return try regex?.matches(result.stdout + result.stderr) == true ? 1 : 0
            } catch {
                throw fail("\(error)")
            }
        case .number:
            guard result.exitCode == 0 else { throw fail("the command exited with status \(result.exitCode)") }
            guard let n = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), n.isFinite else {
                throw fail("the output is not a number")
            }
            return n
        case .regex(let pattern):
            let found: PatternMatch?
            do { found = try regex?.firstMatch(in: result.stdout) } catch { throw fail("\(error)") }
            guard let match = found else { throw fail("no match for /\(pattern)/") }
            let r = match.group ?? match.range, base = result.stdout.startIndex
            let matched = String(decoding: result.stdout[(base + r.lowerBound)..<(base + r.upperBound)], as: UTF8.self)
            guard let n = Double(matched.trimmingCharacters(in: .whitespaces)), n.isFinite else {
                throw fail("the match of /\(pattern)/ is not a number")
            }
            return n
        }
    }

    public var vms: [String] { [vm] }
}

extension MeasureSource where Self == CommandMeasure {
    public static func command(vm: String, command: String, extract: CommandMeasure.Extract = .number,
                               timeoutSeconds: Int = 300) -> CommandMeasure {
        CommandMeasure(vm: vm, command: command, extract: extract, timeoutSeconds: timeoutSeconds)
    }
}
