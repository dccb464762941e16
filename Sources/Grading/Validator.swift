import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab validate`: for a lab, proves in real guests that its image builds, it starts, its
/// reference solution runs and earns full marks (replays included), and an empty
/// submission does not pass. Each assertion is one test case of the JUnit output.
public struct Validator: Sendable {
    public struct Case: Sendable {
        public let name: String
        public let failure: String?
        public let seconds: Double
    }

    public let coursework: Coursework
    public let accelerator: Accelerator
    public let secret: Data
    /// Builds (or finds) the image of a lab.
    public let image: @Sendable (LabSpec) async throws -> BuiltImage
    /// Hosts to place the reference instance and the replays on; nil: the runner's own.
    public let pool: HostPool?
    public static let referenceStudent = "reference"

    public init(coursework: Coursework, accelerator: Accelerator, secret: Data, pool: HostPool? = nil,
                image: @escaping @Sendable (LabSpec) async throws -> BuiltImage) {
        self.coursework = coursework
        self.accelerator = accelerator
        self.secret = secret
        self.pool = pool
        self.image = image
    }

    var progress: ProgressReporter { coursework.runner.progress }

    /// Runs every assertion for one lab; a failed prerequisite skips what depends on it.
    public func validate(_ name: String) async -> [Case] {
        var cases: [Case] = []
        func step<T>(_ title: String, _ body: () async throws -> T) async -> T? {
            let started = ContinuousClock.now
            progress("validate \(name): \(title)")
            do {
                let value = try await body()
                cases.append(Case(name: title, failure: nil, seconds: (ContinuousClock.now - started).seconds))
                return value
            } catch {
                cases.append(Case(name: title, failure: "\(error)", seconds: (ContinuousClock.now - started).seconds))
                return nil
            }
        }

        guard let lab = await step("lab file is valid", { try coursework.catalog.load(name) }),
              let rubric = await step("rubric is valid", { try coursework.rubric(for: lab) }),
              let solution = await step("reference solution is valid", {
                  let solution = try ReferenceSolution.load(
                      coursework.catalog.layout.solution(name))
                  for artifact in solution.artifacts.keys.sorted() where !lab.artifacts.contains(where: { $0.name == artifact }) {
                      throw VMLabError(.invalidInput, "the solution hands in \(artifact), but lab \(name) declares no such artifact")
                  }
                  return solution
              }),
              let image = await step("image builds", { try await self.image(lab) })
        else { return cases }

        // With a pool, the reference instance runs on a host placed for it, given back once
        // the instance stops (before the replays, which are placed one by one).
        var lease: HostLease?
        if let pool {
            let needs = PooledReplays.needs(lab)
            guard let placed = await step("a host is placed", {
                try await pool.acquire(guests: needs.guests, memoryBytes: needs.memoryBytes)
            }) else { return cases }
            progress("validate \(name): the reference instance runs on host \(placed.host.name)")
            lease = placed
        }
        let onHost = lease.map { Coursework(runner: coursework.runner.on($0.connection, host: $0.host), catalog: coursework.catalog) }
            ?? coursework
        let runner = onHost.runner
        let fixed = StudentParameters.derive(lab: lab, student: Self.referenceStudent, secret: secret)
        // The reference's artifacts go into the guests before the baseline, as a replay puts a
        // student's there: its runs use them and the submission collects them from the guests.
        guard let instance = await step("lab starts", {
            try await runner.start(lab, image: image, accelerator: accelerator, student: Self.referenceStudent,
                                   fixedParameters: fixed, artifacts: solution.artifacts, exclusive: false,
                                   workspace: lab.workspace(fromArtifacts: solution.artifacts))
        }) else {
            if let lease, let pool { await pool.release(lease) }
            return cases
        }

        let submission: Submission? = await step("reference runs succeed and submit") {
            defer { try? runner.stop(instance) }
            for run in solution.runs {
                guard let experiment = lab.experiment(run.experiment) else {
                    throw VMLabError(.invalidInput, "solution runs experiment '\(run.experiment)', which the lab lacks")
                }
                let plans = try lab.plan(run.request, studentValues: fixed)
                let records = try await runner.run(lab, instance: instance, experiment: experiment, plans: plans,
                                                   workspace: lab.workspace(fromArtifacts: solution.artifacts))
                if let failed = records.first(where: { $0.status == .failed }) {
                    throw VMLabError(.failed, "reference run \(failed.id ?? 0) failed: \(failed.error ?? "")")
                }
            }
            let evidence = try onHost.evidence(lab: lab, instance: instance, student: Self.referenceStudent,
                                                   answers: [:], artifacts: [:])
            var answers: [String: String] = [:]
            for (question, text) in solution.answers.sorted(by: { $0.key < $1.key }) {
                answers[question] = try Coursework.referenceAnswer(text, variables: evidence.variables)
            }
            // Guest artifacts from the guests; workspace ones are the solution's files, as a
            // student's come from their workspace folder.
            var artifacts = try await onHost.collectArtifacts(lab: lab, instance: instance)
            for artifact in lab.artifacts where artifact.fromWorkspace {
                artifacts[artifact.name] = solution.artifacts[artifact.name]
            }
            let bundle = try onHost.submission(lab: lab, instance: instance, student: Self.referenceStudent,
                                               answers: answers, artifacts: artifacts)
            // Through the file format and back, as an instructor would receive it.
            let decoded = try Submission.decode(try bundle.encoded(limits: .of(lab)), limits: .of(lab))
            try decoded.verifyParameters(lab: lab, secret: secret)
            return decoded
        }
        if let lease, let pool { await pool.release(lease) }
        guard let submission else { return cases }

        let pooled = pool.map { PooledReplays(coursework: coursework, pool: $0) }
        let replay: @Sendable (ReplayRequest) async throws -> ReplayOutcome = { request in
            if let pooled { return try await pooled.replay(request, lab: lab, image: image, accelerator: accelerator) }
            return try await coursework.replay(request, lab: lab, image: image, accelerator: accelerator)
        }
        let grader = Grader(rubric: rubric, lab: lab)
        _ = await step("reference solution earns full marks") {
            let report = await grader.grade(Evidence(submission: submission, lab: lab, secret: secret), replay: replay)
            guard report.total >= report.possible - 1e-9 else {
                let missed = report.checks.filter { $0.earned < $0.points }
                    .map { "\($0.id): \($0.earned)/\($0.points) \($0.detail)" }
                throw VMLabError(.failed, "reference scored \(report.total)/\(report.possible):\n  " + missed.joined(separator: "\n  "))
            }
        }
        for variant in solution.variants {
            _ = await step("variant \(variant.name) earns \(shortNumber(variant.minPercent))-\(shortNumber(variant.maxPercent)) %"
                           + (variant.feedback.map { " with feedback '\($0)'" } ?? "")) {
                let evidence = Evidence(lab: lab.name, student: Self.referenceStudent,
                                        parameters: StudentParameters.parameters(lab: lab, student: Self.referenceStudent, secret: secret),
                                        runs: [], measurements: [], answers: [:], artifacts: variant.artifacts)
                let report = await grader.grade(evidence, replay: replay)
                let summary = report.checks.map { "\($0.id): \($0.earned)/\($0.points) \($0.detail)" }.joined(separator: "\n  ")
                guard report.percent >= variant.minPercent - 1e-9, report.percent <= variant.maxPercent + 1e-9 else {
                    throw VMLabError(.failed, "variant \(variant.name) scored \(report.percent) %:\n  " + summary)
                }
                if let wanted = variant.feedback {
                    let said = report.checks.map { "\($0.detail) \($0.feedback ?? "")" }.joined(separator: "\n")
                    guard said.range(of: wanted, options: .caseInsensitive) != nil else {
                        throw VMLabError(.failed, "variant \(variant.name): no feedback mentions '\(wanted)':\n  " + summary)
                    }
                }
                progress("validate \(name): variant \(variant.name) scored \(report.percent) %")
            }
        }
        _ = await step("empty submission does not pass") {
            let empty = Evidence(lab: lab.name, student: Self.referenceStudent,
                                 parameters: StudentParameters.parameters(lab: lab, student: Self.referenceStudent, secret: secret),
                                 runs: [], measurements: [], answers: [:], artifacts: [:])
            let report = await grader.grade(empty, replay: replay)
            if rubric.passes(report) {
                throw VMLabError(.failed, "an empty submission scored \(report.total)/\(report.possible) (\(report.percent)%), a pass")
            }
        }
        return cases
    }
}
