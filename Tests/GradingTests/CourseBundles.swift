import Foundation
@testable import Grading
@testable import LabModel
@testable import LabStore
import TestSupport
@testable import VMLabSupport

/// Bundles for the course's real labs (Labs/, Grading/ of this repository), made the way
/// `vmlab submit` makes them: runs planned by `LabSpec.plan` with the student's derived
/// values, every measure of the experiment recorded with the run's parameters (derived
/// measures computed from the others, as the runner does), reference answers evaluated
/// over the evidence, then `Submission.encoded()`.
enum CourseBundles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let secretText = "grading-tests-course-secret-0123456789"
    static var secret: Data { Data(secretText.utf8) }

    static func lab(_ name: String) throws -> LabSpec {
        try LabCatalog(layout: CourseLayout(root: root)).load(name)
    }

    static func rubricURL(_ name: String) -> URL {
        root.appendingPathComponent("Grading/\(name)/rubric.yaml")
    }

    static func rubric(_ lab: LabSpec) throws -> Rubric { try Rubric.load(rubricURL(lab.name), lab: lab) }

    static func solution(_ name: String) throws -> ReferenceSolution {
        try ReferenceSolution.load(root.appendingPathComponent("Grading/\(name)/solution/solution.yaml"))
    }

    /// A plausible value for a measure: what the labs' calibration comments describe for a
    /// good student's runs, so every rubric check that needs no replay passes.
    static func value(_ measure: String, _ p: [String: String], repetition: Int) -> Double {
        let ratio = Double(p["ratio"] ?? "1") ?? 1
        switch measure {
        case "service_found", "vuln_found": return 1
        case "open_ports": return 2
        case "ok_before": return 100
        case "ok_during": return p["firewall"] == "on" || p["forwarding"] == "yours" ? 100 : 0
        case "syn_recv", "vuln_leaked", "vuln_leaked_client", "fsck_status": return 0
        case "avail_mib": return ratio == 1 ? 420 : 512 / ratio - 92
        case "swap_g1", "swap_g2", "swap_g3": return ratio >= 3 ? 200 : 0
        case "passes_g1", "passes_g2", "passes_g3": return 50 - ratio
        case "a_cpu": return 2 * (Double(p["shares_a"] ?? "1024") ?? 1024) / 1024
        case "b_cpu": return 2
        case "files_survived": return Double(p["files"] ?? "400").map { $0 - Double(repetition) } ?? 1
        case "mount_ms": return 300 + Double(repetition * 10)
        // metering: a 2-vCPU tenant over a 5 s window; each vCPU capped at quota/period.
        case "window_s": return 5
        case "vcpu_s":
            let quota = Double(p["quota"] ?? "-1") ?? -1, period = Double(p["period"] ?? "100000") ?? 100000
            if quota > 0 { return 5 * (2 * quota / period + 0.02) }
            return p["neighbour"] == "busy" ? 2.5 : 5 * max(0.16, (Double(p["load"] ?? "100") ?? 100) / 100)
        case "guest_busy": return max(3, Double(p["load"] ?? "100") ?? 100)
        case "guest_s": return 4.2
        default: return 1 + Double(repetition)
        }
    }

    /// `runs` of `student` as the runner would record them, with ids from `firstRun`.
    static func evidence(lab: LabSpec, student: String, runs: [(experiment: String, request: RunRequest)],
                         value: (String, [String: String], Int) -> Double = value) throws
        -> (runs: [RunSummary], measurements: [RunMeasurement]) {
        let fixed = StudentParameters.derive(lab: lab, student: student, secret: secret)
        let t0 = Date(timeIntervalSince1970: 1_750_000_000)
        var summaries: [RunSummary] = [], measurements: [RunMeasurement] = []
        var id: Int64 = 0
        for run in runs {
            let experiment = try require(lab.experiment(run.experiment), "experiment \(run.experiment)")
            for plan in try lab.plan(run.request, studentValues: fixed) {
                id += 1
                let started = t0.addingTimeInterval(Double(id) * 60)
                summaries.append(RunSummary(id: id, experiment: experiment.name, parameters: plan.parameters, status: .ok,
                                            startedAt: started, finishedAt: started.addingTimeInterval(30)))
                var taken: [String: Double] = [:]
                for name in LabSpec.measureNames(of: experiment.steps) {
                    let step = try require(find(name, in: experiment.steps), "measure \(name)")
                    let v: Double
                    if let derived = step.source as? ExpressionMeasure {
                        var variables: [String: Double] = [:]
                        for (k, text) in plan.parameters { variables[k] = Double(text) }
                        for (k, x) in taken { variables[k] = x }
                        v = try derived.expression.evaluate(variables)
                    } else {
                        v = value(name, plan.parameters, plan.repetition)
                    }
                    taken[name] = v
                    measurements.append(RunMeasurement(runID: id, experiment: experiment.name, name: name, value: v, unit: step.unit,
                                                       parameters: plan.parameters, repetition: plan.repetition,
                                                       takenAt: started.addingTimeInterval(20)))
                }
            }
        }
        return (summaries, measurements)
    }

    static func find(_ name: String, in steps: [Step]) -> MeasureStep? {
        for step in steps {
            if let m = step.as(MeasureStep.self), m.name == name { return m }
            if let inner = find(name, in: step.body.nested) { return inner }
        }
        return nil
    }

    /// The reference solution of `labName` as `student` would hand it in.
    static func referenceSubmission(_ labName: String, student: String = "reference") throws -> Submission {
        let lab = try lab(labName)
        let solution = try solution(labName)
        let (runs, measurements) = try evidence(lab: lab, student: student,
                                                runs: solution.runs.map { ($0.experiment, $0.request) })
        let parameters = StudentParameters.parameters(lab: lab, student: student, secret: secret)
        let variables = Evidence.variables(measurements: measurements, parameters: parameters, answers: [:])
        var answers: [String: String] = [:]
        for (question, text) in solution.answers { answers[question] = try Coursework.referenceAnswer(text, variables: variables) }
        return Submission(lab: lab.name, student: student, labDigest: "sha256:lab", imageDigest: "sha256:image",
                          instance: "0a1b2c3d", createdAt: Date(timeIntervalSince1970: 1_750_000_000), runs: runs,
                          measurements: measurements, answers: answers, artifacts: solution.artifacts)
    }
}

/// `#require` outside a test: a missing lab part is a broken fixture.
private func require<T>(_ value: T?, _ what: String = "a fixture value") throws -> T {
    guard let value else { throw VMLabError(.notFound, "missing \(what)") }
    return value
}
