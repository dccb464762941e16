import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// One run as a submission carries it: enough to filter measurements and to order runs in
/// time, without the store's bookkeeping (pid, instance).
public struct RunSummary: Codable, Sendable, Equatable {
    public var id: Int64
    public var experiment: String
    /// Every parameter of the run (defaults included), as text.
    public var parameters: [String: String]
    public var status: RunRecord.Status
    public var startedAt: Date
    public var finishedAt: Date?

    public init(id: Int64, experiment: String, parameters: [String: String], status: RunRecord.Status,
                startedAt: Date, finishedAt: Date?) {
        self.id = id
        self.experiment = experiment
        self.parameters = parameters
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// The summary of a stored run (a run not yet inserted has id 0).
    public init(_ run: RunRecord) {
        self.init(id: run.id ?? 0, experiment: run.experiment, parameters: run.parameterValues, status: run.status,
                  startedAt: run.startedAt, finishedAt: run.finishedAt)
    }
}

/// Everything a grade is computed from, whatever it came from (a submission, or the local
/// store for `vmlab check`), so the grader never touches files, the store or guests.
///
/// Expressions in a rubric read three namespaces, looked up in this order (the grader
/// computes every value; nothing here is taken from a bundle under the name it gives):
/// 1. answers: `answer.QUESTION`, the student's answer to a question the rubric asks, when
///    it is a number;
/// 2. parameters: every parameter of the lab whose value is a number, by name (`commit`,
///    `files`), with the value derived for the student from the course secret (or the
///    default). A measurement never stands in for a parameter: a name the lab declares as a
///    parameter always reads the parameter (and a rubric reading a name that is both is
///    refused when it is loaded);
/// 3. measures: for every measure N of the lab, over the measurements of successful runs
///    (all experiments that measure N pooled): `N` (the median), `N_count`, `N_min`,
///    `N_max`; and the same four restricted to runs whose parameter P had value V:
///    `N.P_V`, `N_count.P_V`, `N_min.P_V`, `N_max.P_V` (`files_survived.commit_1`,
///    `mount_ms_count.journal_mode_ordered`); V is lowercased and every character other
///    than a-z, 0-9, `_` and `.` becomes `_` (so `ratio=1.5` gives `mount_ms.ratio_1.5`).
///    When aggregates of two measures share a name (a lab measuring `x` and `x_count`),
///    the longer measure name wins: `x_count` is the measure `x_count`, not the count of `x`.
/// Everything is computed in sorted order, so a grade never depends on a dictionary's order.
public struct Evidence: Sendable, Equatable {
    public var lab: String
    public var student: String
    /// The student's per-student values and every other parameter's default.
    public var parameters: [String: String]
    public var runs: [RunSummary]
    public var measurements: [RunMeasurement]
    /// answers.yaml: question id → the student's answer, as text.
    public var answers: [String: String]
    public var artifacts: [String: Data]

    public init(lab: String, student: String, parameters: [String: String], runs: [RunSummary],
                measurements: [RunMeasurement], answers: [String: String], artifacts: [String: Data]) {
        self.lab = lab
        self.student = student
        self.parameters = parameters
        self.runs = runs
        self.measurements = measurements
        self.answers = answers
        self.artifacts = artifacts
    }

    /// The evidence in a decoded (hence validated) submission; parameters are the lab's
    /// defaults with the student's derived values.
    public init(submission: Submission, lab: LabSpec, secret: Data) {
        self.init(lab: submission.lab, student: submission.student,
                  parameters: StudentParameters.parameters(lab: lab, student: submission.student, secret: secret),
                  runs: submission.runs, measurements: submission.measurements, answers: submission.answers,
                  artifacts: submission.artifacts.compactMapValues { Data(base64Encoded: $0) })
    }

    /// Measurements that count: those of runs that succeeded. A measurement whose run is not
    /// among `runs` counts too (evidence assembled from measurements alone).
    public var usableMeasurements: [RunMeasurement] {
        let failed = Set(runs.filter { $0.status != .ok }.map(\.id))
        return measurements.filter { !failed.contains($0.runID) }
    }

    /// The variables expressions see (described on the type).
    public var variables: [String: Double] {
        Self.variables(measurements: usableMeasurements, parameters: parameters, answers: answers)
    }

    /// The variables for a set of measurements, parameters and answers (a replay uses its own
    /// measurements with the same naming): the three namespaces merged by their precedence.
    public static func variables(measurements: [RunMeasurement], parameters: [String: String],
                                 answers: [String: String]) -> [String: Double] {
        var variables = measureVariables(measurements)
        for (name, value) in parameterVariables(parameters).sorted(by: { $0.key < $1.key }) { variables[name] = value }
        for (name, value) in answerVariables(answers).sorted(by: { $0.key < $1.key }) { variables[name] = value }
        return variables
    }

    /// Numeric parameters by name.
    public static func parameterVariables(_ parameters: [String: String]) -> [String: Double] {
        var variables: [String: Double] = [:]
        for (name, text) in parameters.sorted(by: { $0.key < $1.key }) {
            if let n = Double(text.trimmingCharacters(in: .whitespaces)), n.isFinite { variables[name] = n }
        }
        return variables
    }

    /// Numeric answers as `answer.QUESTION`.
    public static func answerVariables(_ answers: [String: String]) -> [String: Double] {
        var variables: [String: Double] = [:]
        for (question, text) in answers.sorted(by: { $0.key < $1.key }) {
            if let n = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), n.isFinite {
                variables["answer.\(question)"] = n
            }
        }
        return variables
    }

    /// The aggregates of measurements (see the type's comment), computed here and only here.
    public static func measureVariables(_ measurements: [RunMeasurement]) -> [String: Double] {
        // measure name → filter (`""` or `.P_V`) → values
        var groups: [String: [String: [Double]]] = [:]
        for m in measurements where m.value.isFinite {
            groups[m.name, default: [:]]["", default: []].append(m.value)
            // Two parameters may give one suffix (`a_b=c`, `a=b_c`): a measurement counts once.
            var filters: Set<String> = []
            for (parameter, value) in m.parameters.sorted(by: { $0.key < $1.key }) {
                let filter = ".\(parameter)_\(variableSuffix(value))"
                if filters.insert(filter).inserted { groups[m.name]![filter, default: []].append(m.value) }
            }
        }
        var variables: [String: Double] = [:]
        // Shorter names first, so a longer measure name's own values are written last and win.
        for name in groups.keys.sorted(by: { ($0.utf8.count, $0) < ($1.utf8.count, $1) }) {
            let filters = groups[name]!
            for filter in filters.keys.sorted() {
                let values = filters[filter]!
                variables[name + filter] = median(values)
                variables[name + "_count" + filter] = Double(values.count)
                variables[name + "_min" + filter] = values.min()
                variables[name + "_max" + filter] = values.max()
            }
        }
        return variables
    }

    /// A parameter value as part of a variable name (see the type's comment).
    public static func variableSuffix(_ value: String) -> String {
        String(value.lowercased().unicodeScalars.map { s -> Character in
            let c = Character(s)
            return c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == ".") ? c : "_"
        })
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// Whether `parameters` has every `where` value; numbers compare by value (`"1.0"` is `"1"`).
func parametersMatch(_ parameters: [String: String], _ filter: [String: String]) -> Bool {
    filter.allSatisfy { key, wanted in
        guard let actual = parameters[key] else { return false }
        if actual == wanted { return true }
        if let a = Double(actual), let b = Double(wanted) { return a == b }
        return false
    }
}
