import Foundation
import VMLabSupport
import Yams

/// Where a measure's value comes from (a command's output, a step's duration, ...). Like
/// step kinds, each source is one type in one file, registered with one line in
/// `MeasureStep.sources`.
public protocol MeasureSource: Sendable {
    /// The field that selects this source in a `measure` mapping (`duration`), or nil for
    /// the source used when no other one's field is present.
    static var selector: String? { get }
    /// How it is written, for the reference.
    static var form: String { get }
    static var summary: String { get }
    /// The unit when the lab gives none; nil makes `unit` required.
    static var defaultUnit: String? { get }
    /// The schema of a whole `measure` mapping with this source (name and unit included).
    static var schema: JSONValue { get }

    /// Reads the source's fields of the measure mapping; `earlier` are the measures taken
    /// before this one in the same experiment.
    static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> Self?

    /// Same contract as `StepKind.check`.
    func check() throws(StepProblem)
    func substituted(_ values: [String: String]) throws -> Self
    /// Takes the value (and output worth keeping in the event log).
    func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?)

    var vms: [String] { get }
    var nested: [Step] { get }
}

extension MeasureSource {
    public func check() throws(StepProblem) {}
    public var nested: [Step] { [] }

    func isEqual(to other: any MeasureSource) -> Bool where Self: Equatable {
        (other as? Self) == self
    }
}

extension MeasureStep {
    /// Every measure source, in the order they are tried and documented: the first whose
    /// selector field is present wins, and the one without a selector comes last.
    public static let sources: [any (MeasureSource & Equatable).Type] = [
        CPUTimeMeasure.self,
        ExpressionMeasure.self,
        DurationMeasure.self,
        KernelEventsMeasure.self,
        HostMeasure.self,
        CommandMeasure.self,
    ]
}
