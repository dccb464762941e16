import Foundation
import LabModel
import VMLabSupport

/// What evidence may contain, checked against the lab and the rubric before anything is
/// graded: a bundle is written by the student, so a measurement the lab never takes, a
/// parameter it does not have or a file nobody asked for is a forgery or a mistake, and
/// either way it must not reach an expression. Everything vmlab itself records passes.
extension Evidence {
    /// Why the evidence cannot be graded (the first problem, in the bundle's order), or nil.
    public func problem(lab: LabSpec, rubric: Rubric) -> String? {
        let name = displayText(lab.name, limit: 64)
        var measures: [String: Set<String>] = [:]
        for experiment in lab.experiments { measures[experiment.name] = Set(LabSpec.measureNames(of: experiment.steps)) }

        func parameterProblem(_ parameters: [String: String], _ what: String) -> String? {
            for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
                guard let spec = lab.parameter(key) else {
                    return "\(what) has the parameter '\(displayText(key, limit: 64))', which lab \(name) does not have "
                        + "(parameters: \(lab.parameters.map(\.name).joined(separator: ", ")))"
                }
                if let problem = spec.problem(with: value) {
                    return "\(what) has \(key)=\(displayText(value, limit: 64)), which lab \(name) refuses: "
                        + displayText(problem, limit: 120)
                }
            }
            return nil
        }

        var experimentOfRun: [Int64: String] = [:]
        for run in runs {
            let what = "run \(run.id)"
            guard measures[run.experiment] != nil else {
                return "\(what) is of experiment '\(displayText(run.experiment, limit: 64))', which lab \(name) does not have"
            }
            if experimentOfRun.updateValue(run.experiment, forKey: run.id) != nil {
                return "\(what) appears twice among the runs"
            }
            if let problem = parameterProblem(run.parameters, what) { return problem }
        }
        for (index, m) in measurements.enumerated() {
            let what = "measurement \(index + 1) (run \(m.runID))"
            guard let names = measures[m.experiment] else {
                return "\(what) is of experiment '\(displayText(m.experiment, limit: 64))', which lab \(name) does not have"
            }
            if let experiment = experimentOfRun[m.runID], experiment != m.experiment {
                return "\(what) says experiment \(m.experiment), but run \(m.runID) is of experiment \(experiment)"
            }
            guard names.contains(m.name) else {
                return "\(what) is named '\(displayText(m.name, limit: 64))', which experiment \(m.experiment) of lab "
                    + "\(name) does not measure (it measures: \(names.sorted().joined(separator: ", ")))"
            }
            if let problem = parameterProblem(m.parameters, what) { return problem }
        }
        let wanted = Set(lab.artifacts.map(\.name)).union(rubric.artifactNames)
        for artifact in artifacts.keys.sorted() where !wanted.contains(artifact) {
            return "the artifact '\(displayText(artifact, limit: 64))' is neither declared by lab \(name) nor read by the rubric"
        }
        return nil
    }
}
