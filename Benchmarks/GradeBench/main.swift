import Foundation
import Grading
import LabModel
import VMLabSupport

// grade-bench: writes net-attack bundles the way `vmlab submit` does (planned runs with the
// student's derived values, every measure, the ruleset artifact, Submission.encoded()), for
// scripts/grade-bench.sh to grade with the real `vmlab grade`. Not a test: a measurement.
//
//   grade-bench class DIR COUNT   a class of COUNT plausible bundles
//   grade-bench worst DIR         the slowest bundles within the submission limits
//
// The course secret is $VMLAB_COURSE_SECRET, as for `vmlab grade`.

let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
let arguments = CommandLine.arguments
guard arguments.count >= 3, let secretText = ProcessInfo.processInfo.environment["VMLAB_COURSE_SECRET"] else {
    FileHandle.standardError.write(Data("usage: VMLAB_COURSE_SECRET=... grade-bench class DIR COUNT | worst DIR\n".utf8))
    exit(2)
}
let secret = Data(secretText.utf8)
let out = URL(fileURLWithPath: arguments[2])
try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
let lab = try LabCatalog(layout: CourseLayout(root: root)).load("net-attack")
let ruleset = try Data(contentsOf: root.appendingPathComponent("Grading/net-attack/solution/ruleset.nft"))

/// A plausible value, with noise from `n` so students differ.
func value(_ measure: String, _ p: [String: String], _ n: Int) -> Double {
    switch measure {
    case "service_found", "vuln_found": return 1
    case "open_ports": return 2
    case "ok_before": return 100
    case "ok_during": return p["firewall"] == "on" ? 100 : Double(n % 3) * 12.5
    case "syn_recv", "vuln_leaked": return 0
    default: return Double(60 + n % 290)
    }
}

func measureStep(_ name: String, in steps: [Step]) -> MeasureStep? {
    for step in steps {
        if let m = step.as(MeasureStep.self), m.name == name { return m }
        if let inner = measureStep(name, in: step.body.nested) { return inner }
    }
    return nil
}

/// Runs and measurements of `requests` as the runner records them; `extra` parameters are
/// added to every run (only the worst case uses them).
func record(_ student: String, _ requests: [(String, RunRequest)], extra: [String: String] = [:], noise: Int)
    throws -> ([RunSummary], [RunMeasurement]) {
    let fixed = StudentParameters.derive(lab: lab, student: student, secret: secret)
    var runs: [RunSummary] = [], measurements: [RunMeasurement] = []
    let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    for (name, request) in requests {
        let experiment = lab.experiment(name)!
        for plan in try lab.plan(request, studentValues: fixed) {
            let id = Int64(runs.count + 1)
            let parameters = plan.parameters.merging(extra) { a, _ in a }
            let started = t0.addingTimeInterval(Double(id) * 60)
            runs.append(RunSummary(id: id, experiment: name, parameters: parameters, status: .ok, startedAt: started,
                                   finishedAt: started.addingTimeInterval(30)))
            for measure in LabSpec.measureNames(of: experiment.steps) {
                measurements.append(RunMeasurement(runID: id, experiment: name, name: measure,
                                                   value: value(measure, parameters, noise + Int(id)),
                                                   unit: measureStep(measure, in: experiment.steps)?.unit ?? "",
                                                   parameters: parameters, repetition: plan.repetition,
                                                   takenAt: started.addingTimeInterval(20)))
            }
        }
    }
    return (runs, measurements)
}

func bundle(_ student: String, _ requests: [(String, RunRequest)], answers: [String: String]? = nil,
            artifacts: [String: Data] = ["ruleset.nft": ruleset], extra: [String: String] = [:], noise: Int = 0) throws -> Data {
    let (runs, measurements) = try record(student, requests, extra: extra, noise: noise)
    let values = StudentParameters.parameters(lab: lab, student: student, secret: secret)
    let variables = Evidence.variables(measurements: measurements, parameters: values, answers: [:])
    let defaults = ["service_port": values["service_port"]!, "vuln_port": noise % 4 == 0 ? "5000" : values["vuln_port"]!,
                    "ok_during_flood": shortNumber(variables["ok_during.firewall_off"] ?? 0)]
    return try Submission(lab: lab.name, student: student, labDigest: "sha256:bench", imageDigest: "sha256:bench",
                          instance: "0a1b2c3d", createdAt: Date(timeIntervalSince1970: 1_750_000_000), runs: runs,
                          measurements: measurements, answers: answers ?? defaults, artifacts: artifacts).encoded()
}

let reference: [(String, RunRequest)] = [("scan", RunRequest()), ("flood", RunRequest(repetitions: 2)),
                                         ("flood", RunRequest(settings: [ParameterSetting("firewall", "on")]))]

switch arguments[1] {
case "class":
    let count = arguments.count > 3 ? Int(arguments[3]) ?? 1000 : 1000
    for n in 1...count {
        let student = String(format: "s%05d", n)
        try bundle(student, reference, noise: n).write(to: out.appendingPathComponent("\(student).json"))
    }
case "worst":
    let limits = Submission.Limits.default
    // The pattern check's worst text (NSRegularExpression needed minutes for it), at the artifact limit.
    let crafted = Data(String(repeating: "hook input ", count: limits.maxArtifactBytes / 11).utf8)
    // 1. Accepted and graded in full: the most runs and measurements, every answer at its
    //    longest, the crafted ruleset.
    let runsNeeded = limits.maxMeasurements / LabSpec.measureNames(of: lab.experiment("flood")!.steps).count
    let many: [(String, RunRequest)] = [("scan", RunRequest()),
                                        ("flood", RunRequest(sweeps: [ParameterSweep("rate", (1...runsNeeded / 10).map { String($0) })],
                                                             repetitions: 10))]
    var answers = Dictionary(uniqueKeysWithValues: (0..<(limits.maxAnswers - 3)).map {
        ("q\($0)", String(repeating: "7", count: limits.maxAnswerBytes))
    })
    answers["service_port"] = "2080"
    answers["vuln_port"] = "5050"
    answers["ok_during_flood"] = "0"
    var (runs, measurements) = try record("worst-measurements", many, noise: 1)
    measurements = Array(measurements.prefix(limits.maxMeasurements))
    try Submission(lab: lab.name, student: "worst-measurements", labDigest: "sha256:bench", imageDigest: "sha256:bench",
                   instance: "0a1b2c3d", runs: Array(runs.prefix(limits.maxRuns)), measurements: measurements, answers: answers,
                   artifacts: ["ruleset.nft": crafted]).encoded().write(to: out.appendingPathComponent("worst-measurements.json"))
    // 2. The most bytes: artifacts up to the file limit (the unknown ones reject it, after it is read and checked).
    var artifacts = ["ruleset.nft": crafted]
    let room = limits.maxBytes - (crafted.count + 2) / 3 * 4 - (256 << 10)  // base64, and the rest of the file
    for k in 0..<(limits.maxArtifacts - 1) {
        artifacts["extra\(k).bin"] = Data(repeating: UInt8(k), count: room / (limits.maxArtifacts - 1) * 3 / 4)
    }
    try bundle("worst-bytes", reference, artifacts: artifacts).write(to: out.appendingPathComponent("worst-bytes.json"))
    // 3. The most parameters: every measurement with the most parameters a run may have.
    let extra = Dictionary(uniqueKeysWithValues: (0..<(limits.maxParameters - lab.parameters.count)).map { ("p\($0)", "\($0)") })
    (runs, measurements) = try record("worst-parameters", many, extra: extra, noise: 2)
    try Submission(lab: lab.name, student: "worst-parameters", labDigest: "sha256:bench", imageDigest: "sha256:bench",
                   instance: "0a1b2c3d", runs: Array(runs.prefix(limits.maxRuns)),
                   measurements: Array(measurements.prefix(limits.maxMeasurements)), answers: [:],
                   artifacts: ["ruleset.nft": ruleset]).encoded().write(to: out.appendingPathComponent("worst-parameters.json"))
    // 4. Parameter names as long as a key may be, every character a \u escape: the slow path
    //    of the key check, as many as fit in the file limit.
    let longNames = Dictionary(uniqueKeysWithValues: (0..<(limits.maxParameters - lab.parameters.count)).map {
        (String(format: "p%041d", $0), "1")
    })
    func escapedKeys(_ text: String) -> String {
        var escaped = text
        for name in longNames.keys.sorted() {
            escaped = escaped.replacingOccurrences(of: "\"\(name)\" :", with: "\"" + name.unicodeScalars.map {
                String(format: "\\u%04x", $0.value)
            }.joined() + "\" :")
        }
        return escaped
    }
    // Grow the run count by a tenth until the next step would pass the file limit.
    var floods = 100, largest: Data?
    while true {
        let requests: [(String, RunRequest)] = [("flood", RunRequest(sweeps: [ParameterSweep("rate", (1...floods).map { String($0) })]))]
        (runs, measurements) = try record("worst-escaped-keys", requests, extra: longNames, noise: 3)
        let submission = Submission(lab: lab.name, student: "worst-escaped-keys", labDigest: "sha256:bench",
                                    imageDigest: "sha256:bench", instance: "0a1b2c3d", runs: runs, measurements: measurements,
                                    answers: [:], artifacts: [:])
        guard let plain = try? submission.encoded() else { break }
        let escaped = Data(escapedKeys(String(decoding: plain, as: UTF8.self)).utf8)
        guard escaped.count <= limits.maxBytes, floods <= 2000 else { break }
        largest = escaped
        floods += floods / 10
    }
    try largest?.write(to: out.appendingPathComponent("worst-escaped-keys.json"))
default:
    FileHandle.standardError.write(Data("grade-bench: unknown mode \(arguments[1])\n".utf8))
    exit(2)
}
