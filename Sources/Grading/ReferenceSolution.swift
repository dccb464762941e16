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

    /// Another submission the lab's grading must tell apart (a module that oopses): its
    /// handed-in files are graded, replays included, and the grade must land in
    /// `minPercent...maxPercent` with `feedback` in the teacher's feedback.
    public struct Variant: Sendable, Equatable {
        public var name: String
        public var artifacts: [String: Data]
        public var minPercent: Double
        public var maxPercent: Double
        /// Text the grade's details or feedback must contain (case-insensitive), if any.
        public var feedback: String?
    }

    public var runs: [Run]
    public var answers: [String: String]
    /// Artifact name -> its file, read from the solution folder.
    public var artifacts: [String: Data] = [:]
    public var variants: [Variant] = []

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
        /// `{name: file}` read from next to solution.yaml.
        func artifactFiles(_ files: MappingReader?) -> [String: Data] {
            guard let files else { return [:] }
            var artifacts: [String: Data] = [:]
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
            return artifacts
        }
        let artifacts = artifactFiles(top.mapping("artifacts"))
        var variants: [Variant] = []
        for item in top.mappingList("variants") {
            let name = item.string("name", required: true) ?? ""
            let files = artifactFiles(item.mapping("artifacts", required: true))
            let minPercent = item.number("min-percent") ?? 0
            let maxPercent = item.number("max-percent") ?? 100
            if minPercent > maxPercent { item.fail("max-percent", "is below min-percent") }
            let feedback = item.string("feedback")
            item.finish()
            variants.append(Variant(name: name, artifacts: files, minPercent: minPercent, maxPercent: maxPercent,
                                    feedback: feedback))
        }
        top.finish()
        try reader.check()
        return ReferenceSolution(runs: runs, answers: answers, artifacts: artifacts, variants: variants)
    }
}
