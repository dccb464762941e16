import Foundation
import VMLabSupport
import Yams

/// `measure: {name, unit, ...source}`: a named value recorded from a run.
public struct MeasureStep: StepKind, Equatable {
    public static let key = "measure"
    public static let form = "`{name, unit, ...source}`: see [Measurements](#measurements)"
    public static let summary = "records a named value"
    public static let schema = Schema.ref("measure")

    public var name: String
    public var unit: String
    public let source: any MeasureSource & Equatable

    public init(name: String, unit: String, source: some MeasureSource & Equatable) {
        self.name = name
        self.unit = unit
        self.source = source
    }

    private init(name: String, unit: String, erased source: any MeasureSource & Equatable) {
        self.name = name
        self.unit = unit
        self.source = source
    }

    public static func == (a: MeasureStep, b: MeasureStep) -> Bool {
        a.name == b.name && a.unit == b.unit && a.source.isEqual(to: b.source)
    }

    public static func read(_ value: Node, field: String, context: StepContext) -> MeasureStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let name = m.string("name", required: true)
        let earlier = context.measureNames
        if let name {
            if !isMeasureName(name) {
                m.fail("name", "'\(name)' must be lowercase letters, digits and underscores, starting with a letter "
                       + "(it becomes a column in results)")
            } else if earlier.contains(name) {
                m.fail("name", "measure '\(name)' is already defined in this experiment; give each its own name")
            }
            context.measureNames.append(name)
        }
        let kind = sources.first { $0.selector.map { m.value($0) != nil } ?? true } ?? CommandMeasure.self
        let unit = kind.defaultUnit.map { m.string("unit") ?? $0 } ?? m.string("unit", required: true)
        guard let source = kind.read(m, context: context, earlier: earlier), let name, let unit else { return nil }
        return MeasureStep(name: name, unit: unit, erased: source)
    }

    public func check() throws(StepProblem) { try source.check() }

    public func substituted(_ values: [String: String]) throws -> MeasureStep {
        MeasureStep(name: try substitute(name, values), unit: try substitute(unit, values), erased: try source.substituted(values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        let (value, output) = try await source.measure(name, in: lab)
        guard value.isFinite else {
            throw VMLabError(.failed, "measure \(name) gave \(value); only finite numbers are recorded")
        }
        try lab.record(measure: name, value: value, unit: unit)
        return "\(name) = \(value) \(unit)" + (output.map { "\n" + $0 } ?? "")
    }

    public var vms: [String] { source.vms }
    public var nested: [Step] { source.nested }
    public var detail: String { "measure \(name) [\(unit)]" }
}

extension Step {
    public static func measure(_ measure: MeasureStep) -> Step { Step(measure) }
}
