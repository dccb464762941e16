import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// Grading/NAME/solution/solution.yaml: the runs a perfect student makes and the answers
/// they give. Answers starting with "=" are expressions over the runs' own measurements
/// and the student's parameters, so they stay right whatever the guests measured.
/// `artifacts` names the files a perfect student hands in (a firewall ruleset), kept next to
/// solution.yaml: `artifacts: {ruleset.nft: ruleset.nft}`.
public struct ReferenceSolution: Sendable, Equatable {
    public struct Run: Sendable, Equatable {
        public var experiment: String
        /// The values, sweeps and repetitions of the run, as `vmlab run` takes them.
        public var request: RunRequest
    }

    public var runs: [Run]
    public var answers: [String: String]
    /// Artifact name -> its file, read from the solution folder.
    public var artifacts: [String: Data] = [:]

    public static func load(_ url: URL) throws -> ReferenceSolution {
        let (reader, top) = try SpecReader.load(url)
        var runs: [Run] = []
        for item in top.mappingList("runs") {
            let experiment = item.string("experiment", required: true) ?? ""
            let settings = item.stringMap("set").map { ParameterSetting($0.key, $0.value) }
            var sweeps: [ParameterSweep] = []
            if let sweep = item.mapping("sweep") {
                for key in sweep.keys {
                    let values = sweep.stringList(key)
                    if values.isEmpty { sweep.fail(key, "list at least one value") }
                    sweeps.append(ParameterSweep(key, values))
                }
            }
            let repetitions = item.int("repeat", range: 1...LabSpec.maxRepetitions) ?? 1
            item.finish()
            runs.append(Run(experiment: experiment,
                            request: RunRequest(settings: settings, sweeps: sweeps, repetitions: repetitions)))
        }
        if runs.isEmpty { top.fail("runs", "list the runs a perfect student makes") }
        var answers: [String: String] = [:]
        for (key, value) in top.stringMap("answers") { answers[key] = value }
        var artifacts: [String: Data] = [:]
        if let files = top.mapping("artifacts") {
            for name in files.keys {
                guard let file = files.string(name) else { continue }
                if let problem = ArtifactName.problem(name) { files.fail(name, problem); continue }
                let path = url.deletingLastPathComponent().appendingPathComponent(file)
                guard let data = FileManager.default.contents(atPath: path.path) else {
                    files.fail(name, "cannot read \(path.path): put the file next to solution.yaml")
                    continue
                }
                artifacts[name] = data
            }
            files.finish()
        }
        top.finish()
        try reader.check()
        return ReferenceSolution(runs: runs, answers: answers, artifacts: artifacts)
    }
}
