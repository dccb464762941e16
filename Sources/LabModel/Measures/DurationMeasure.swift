import Foundation
import VMLabSupport
import Yams

/// `{name, duration: STEP}`: the host wall time a step took, in seconds.
public struct DurationMeasure: MeasureSource, Equatable {
    public static let selector: String? = "duration"
    public static let form = "`{name, duration: STEP, unit: s}`"
    public static let summary = "the host wall time of the step, in seconds"
    public static let defaultUnit: String? = "s"
    public static let schema: JSONValue = Schema.object(required: ["name", "duration"], [
        "name": Schema.ref("measureName"),
        "unit": ["type": "string", "default": "s"],
        "duration": Schema.ref("step"),
    ], description: "Host wall time of a step, in seconds.")

    public var step: Step

    public static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> DurationMeasure? {
        guard let node = m.value("duration") else { return nil }
        return context.step(node, field: m.field("duration")).map(DurationMeasure.init)
    }

    public func substituted(_ values: [String: String]) throws -> DurationMeasure {
        DurationMeasure(step: try step.substituted(values))
    }

    public func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?) {
        let started = ContinuousClock.now
        try await lab.execute(step)
        return ((ContinuousClock.now - started).seconds, nil)
    }

    public var vms: [String] { [] }
    public var nested: [Step] { [step] }
}

extension MeasureSource where Self == DurationMeasure {
    public static func duration(_ step: Step) -> DurationMeasure { DurationMeasure(step: step) }
}
