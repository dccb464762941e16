import Foundation
import VMLabSupport

/// One recorded value of one run, with the parameters that run used: the unit of
/// results tables, plots, submissions and grading.
public struct RunMeasurement: Codable, Sendable, Equatable {
    public var runID: Int64
    public var experiment: String
    public var name: String
    public var value: Double
    public var unit: String
    /// Every parameter of the run (defaults included), as text.
    public var parameters: [String: String]
    /// 0-based repetition index within the same parameter combination (`--repeat`).
    public var repetition: Int
    public var takenAt: Date

    public init(runID: Int64, experiment: String, name: String, value: Double, unit: String,
                parameters: [String: String], repetition: Int, takenAt: Date) {
        self.runID = runID
        self.experiment = experiment
        self.name = name
        self.value = value
        self.unit = unit
        self.parameters = parameters
        self.repetition = repetition
        self.takenAt = takenAt
    }
}
