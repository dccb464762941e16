import Foundation
import VMLabSupport
import Yams

/// `sleep: SECONDS`: waits on the host clock (a measurement window, a settle time).
public struct SleepStep: StepKind, Equatable {
    public static let key = "sleep"
    public static let form = "`sleep: SECONDS`"
    public static let summary = "waits (host time); above 0, at most 3600: `0.5`, `${window}` or `\"= ${window} / 2\"`"
    public static let schema: JSONValue = [
        "anyOf": [
            ["type": "number", "exclusiveMinimum": 0, "maximum": .number(maxSeconds)],
            ["type": "string", "pattern": "\\$\\{|^\\s*="],
        ],
        "description": "Host seconds: a number, ${parameter} or \"= arithmetic\".",
    ]
    public static let maxSeconds = 3600.0

    /// Seconds, `${param}` or `= arithmetic`, evaluated by `duration()`.
    public var seconds: String

    public init(seconds: String) { self.seconds = seconds }

    public static func read(_ value: Node, field: String, context: StepContext) -> SleepStep? {
        context.scalarText(value, field: field, expected: example).map(SleepStep.init)
    }

    static let example = "seconds, a number above 0 and at most 3600, like `sleep: 2.5` or `sleep: ${window}`"

    /// The wait: the one place the value is checked, at load time and at run time.
    public func duration() throws(StepProblem) -> Duration {
        let value: Double?
        do { value = try numberValue(seconds) } catch { throw StepProblem(nil, "\(error)") }
        guard let value, value > 0, value <= Self.maxSeconds else {
            throw StepProblem(nil, "expected \(Self.example), got '\(seconds)'")
        }
        return .milliseconds(Int((value * 1000).rounded()))
    }

    public func check() throws(StepProblem) { _ = try duration() }

    public func substituted(_ values: [String: String]) throws -> SleepStep { SleepStep(seconds: try substitute(seconds, values)) }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try await Task.sleep(for: try duration())
        return nil
    }

    public var vms: [String] { [] }
    public var detail: String { "sleep \(seconds) s" }
}

extension Step {
    public static func sleep(seconds: String) -> Step { Step(SleepStep(seconds: seconds)) }
}
