import Crypto
import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// The student and instructor sides of grading, over real labs: evidence from the store,
/// submissions with artifacts collected from the guests, and replays in fresh guests.
public struct Coursework: Sendable {
    public let runner: LabRunner
    public let catalog: LabCatalog

    public init(runner: LabRunner, catalog: LabCatalog) {
        self.runner = runner
        self.catalog = catalog
    }

    var store: Store { runner.store }

    /// The rubric of a lab (Grading/NAME/rubric.yaml), checked against the lab.
    public func rubric(for lab: LabSpec) throws -> Rubric {
        let url = catalog.layout.rubric(lab.name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw VMLabError(.notFound, "lab \(lab.name) has no rubric (\(url.path)); the course may keep grading private")
        }
        return try Rubric.load(url, lab: lab)
    }

    /// sha256 of lab.yaml: a submission names the exact lab text it was made with.
    public static func labDigest(_ lab: LabSpec) -> String {
        let data = (try? Data(contentsOf: lab.source)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// What the store holds about an instance, as the grader sees it.
    public func evidence(lab: LabSpec, instance: InstanceRecord, student: String, answers: [String: String],
                         artifacts: [String: Data]) throws -> Evidence {
        var parameters = lab.defaultValues
        parameters.merge(instance.fixed) { $1 }
        return Evidence(lab: lab.name, student: student, parameters: parameters,
                        runs: try store.runs(instance: instance.id).map(RunSummary.init),
                        measurements: try store.measurements(instance: instance.id),
                        answers: answers, artifacts: artifacts)
    }

    /// The lab's declared artifacts, from the guests as they are now (running or not). A
    /// file that does not exist is left out.
    /// Workspace artifacts come from `workspace` (read bounded and checked); without one
    /// they are left out.
    public func collectArtifacts(lab: LabSpec, instance: InstanceRecord, workspace: URL? = nil) async throws -> [String: Data] {
        var collected: [String: Data] = [:]
        if let spec = lab.workspace, let workspace, lab.artifacts.contains(where: \.fromWorkspace) {
            let files = try Workspace.read(workspace, spec: spec).files
            for artifact in lab.artifacts {
                guard let file = artifact.workspaceFile else { continue }
                if let data = files[file] {
                    collected[artifact.name] = data
                } else if spec.bootFiles.contains(file) {
                    // A kernel or initrd a VM boots: read apart, under the boot limits; a
                    // replay boots the handed-in copy.
                    let role: BootFiles.Role = lab.vms.contains { $0.boot?.kernel == file } ? .kernel : .initrd
                    let folder = Workspace(files: [:], directory: workspace)
                    // Left out when absent, like any artifact; a link is there, and refused.
                    if (try? FileManager.default.attributesOfItem(atPath: workspace.appendingPathComponent(file).path)) != nil {
                        collected[artifact.name] = try BootFiles.read(file, role: role, from: folder)
                    }
                }
            }
        }
        for artifact in lab.artifacts where !artifact.fromWorkspace {
            let data: Data?
            do {
                data = try await runner.readGuestFile(of: instance, vm: artifact.vm, path: artifact.path)
            } catch {
                throw VMLabError(.failed, "cannot collect artifact \(artifact.name) (\(artifact.vm):\(artifact.path)); "
                                 + "make it a regular file of at most \(GuestAgent.defaultMaxFileBytes >> 20) MiB", cause: error)
            }
            if let data { collected[artifact.name] = data }
        }
        return collected
    }

    /// A bundle of the instance's runs, measurements, answers and artifacts.
    public func submission(lab: LabSpec, instance: InstanceRecord, student: String,
                           answers: [String: String], workspace: URL? = nil) async throws -> Submission {
        let artifacts = try await collectArtifacts(lab: lab, instance: instance, workspace: workspace)
        return try submission(lab: lab, instance: instance, student: student, answers: answers, artifacts: artifacts)
    }

    func submission(lab: LabSpec, instance: InstanceRecord, student: String, answers: [String: String],
                    artifacts: [String: Data]) throws -> Submission {
        Submission(lab: lab.name, student: student, labDigest: Self.labDigest(lab), imageDigest: instance.imageDigest,
                   instance: instance.id, runs: try store.runs(instance: instance.id).map(RunSummary.init),
                   measurements: try store.measurements(instance: instance.id), answers: answers, artifacts: artifacts)
    }

    /// Runs one replay: a fresh instance with the student's parameters and artifacts, the
    /// experiment once with the requested values, its measurements, then teardown.
    public func replay(_ request: ReplayRequest, lab: LabSpec, image: BuiltImage, accelerator: Accelerator) async throws -> ReplayOutcome {
        guard let experiment = lab.experiment(request.experiment) else {
            return ReplayOutcome(measurements: [], error: "lab \(lab.name) has no experiment \(request.experiment)")
        }
        for p in lab.parameters {
            if let value = request.parameters[p.name], let problem = p.problem(with: value) {
                return ReplayOutcome(measurements: [], error: "parameter \(p.name)=\(value): \(problem)")
            }
        }
        let fixed = request.parameters.filter { name, _ in lab.parameter(name)?.perStudent == true }
        runner.progress("replay \(request.checkID): \(lab.name)/\(experiment.name) in fresh guests")
        let workspace = lab.workspace(fromArtifacts: request.artifacts)
        let instance = try await runner.start(lab, image: image, accelerator: accelerator, student: InstanceRecord.replayStudent,
                                              fixedParameters: fixed, artifacts: request.artifacts, exclusive: false,
                                              workspace: workspace)
        do {
            let runs = try await runner.run(lab, instance: instance, experiment: experiment,
                                            plans: [RunPlan(parameters: request.parameters, repetition: 0)],
                                            workspace: workspace, startsAtBaseline: true)
            let ids = Set(runs.compactMap(\.id))
            let measured = try store.measurements(instance: instance.id).filter { ids.contains($0.runID) }
            let events = ids.sorted().flatMap { kernelEvents(instance: instance, run: $0, lab: lab) }
            try runner.stop(instance)
            return ReplayOutcome(measurements: measured, error: runs.first?.error, kernelEvents: events)
        } catch {
            try? runner.stop(instance)
            throw error
        }
    }

    /// The kernel-event traces a replay's run kept (`kernel-events-VM.txt`), by VM.
    func kernelEvents(instance: InstanceRecord, run: Int64, lab: LabSpec) -> [String] {
        let dir = runner.home.root.appendingPathComponent("artifacts/\(instance.id)/run-\(run)")
        return lab.vms.compactMap { vm in
            let file = dir.appendingPathComponent(KernelEventsMeasure.artifactName(vm: vm.name))
            guard let text = try? BoundedFile.text(file, maxBytes: 16 << 10) else { return nil }
            return "\(vm.name): \(text)"
        }
    }

    /// Evaluates a reference answer: text as written, or `= expression` over the evidence.
    public static func referenceAnswer(_ text: String, variables: [String: Double]) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("=") else { return text }
        // Four decimals, as a student would write it: `2.3946`, not `2.3945998071359695`.
        return shortNumber(try Formula(String(trimmed.dropFirst())).evaluate(variables))
    }
}

/// Reads answers.yaml: question -> answer text (numbers and text alike).
public func loadAnswers(_ url: URL) throws -> [String: String] {
    let (reader, top) = try SpecReader.load(url)
    var answers: [String: String] = [:]
    for key in top.keys { answers[key] = top.string(key) ?? "" }
    try reader.check()
    return answers
}
