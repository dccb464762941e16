import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab grade BUNDLE|DIR... --rubric R [--replay]`: grade a class into a gradebook.
struct Grade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grade submissions against a rubric, optionally replaying in fresh guests; writes a gradebook.",
        discussion: "A rejected submission (bad digest, unsafe names, another student's parameters...) scores 0 with its reason; the batch goes on.")

    @Argument(help: "Submission files, or folders of them (*.json).") var paths: [String]
    @Option(help: "Grading/NAME/rubric.yaml.") var rubric: String
    @Flag(help: "Run replay checks in fresh guests (needs libvirt).") var replay = false
    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(help: "Write the gradebook CSV here (one row per student, a column per check).") var csv: String?
    @Option(help: "Write JUnit XML here (a test case per student and check).") var junit: String?
    @Option(help: "Students graded at once (each replay has guests of its own); the gradebook is the same for any count.")
    var jobs: Int = 1
    @OptionGroup var pool: PoolOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs \(jobs): give 1 to 64") }
    }

    func run() async throws {
        let catalog = try global.catalog()
        let rubricURL = URL(fileURLWithPath: rubric)
        let labName = try Rubric.load(rubricURL).lab
        let lab = try catalog.load(labName)
        let rules = try Rubric.load(rubricURL, lab: lab)
        let secret = try global.courseSecret()
        let grader = Grader(rubric: rules, lab: lab)
        let possible = rules.checks.reduce(0) { $0 + $1.points }

        var replayer: (@Sendable (ReplayRequest) async throws -> ReplayOutcome)?
        let pool = replay ? try self.pool.pool(global) : nil
        if replay {
            let coursework = try global.coursework()
            let image = try await global.image(for: lab)
            let accelerator = try await global.accelerator()
            if let pool {
                let pooled = PooledReplays(coursework: coursework, pool: pool)
                replayer = { request in try await pooled.replay(request, lab: lab, image: image, accelerator: accelerator) }
            } else {
                replayer = { request in try await coursework.replay(request, lab: lab, image: image, accelerator: accelerator) }
            }
        }

        let files = try submissionFiles()
        let replay = replayer
        let started = ContinuousClock.now
        let reports = await concurrentMap(files, jobs: jobs, finished: { _, report, done, total in
            Output.progress("[\(done)/\(total)] \(report.student): \(String(format: "%.1f/%.1f", report.total, report.possible))"
                + (report.rejected == nil ? "" : " (rejected)")
                + "; \(estimatedRemaining(elapsed: ContinuousClock.now - started, done: done, total: total))")
        }) { file in
            await Self.grade(file, lab: lab, grader: grader, secret: secret, possible: possible, replay: replay)
        }

        if let pool { await Self.reportPlacements(pool) }

        let ids = rules.checks.map(\.id)
        if let csv { try Gradebook.csv(reports, checkIDs: ids).write(toFile: csv, atomically: true, encoding: .utf8) }
        if let junit {
            let cases = reports.flatMap { report in
                report.rejected.map { [(name: "submission accepted", className: report.student, failure: Optional($0), seconds: 0.0)] }
                    ?? report.checks.map { (name: $0.id, className: report.student, failure: $0.passed ? nil : $0.detail, seconds: 0.0) }
            }
            try Gradebook.junit(suiteName: "vmlab grade \(lab.name)", cases: cases).write(toFile: junit, atomically: true, encoding: .utf8)
        }
        switch format {
        case .json: try Output.json(reports)
        case .table:
            Output.table(["STUDENT", "TOTAL", "PERCENT"] + ids, reports.map { r in
                [r.student, String(format: "%.1f/%.1f", r.total, r.possible), String(format: "%.0f%%", r.percent)]
                    + ids.map { id in r.rejected != nil ? "rejected" : r.checks.first { $0.id == id }.map { String(format: "%.1f", $0.earned) } ?? "-" }
            })
        }
    }

    /// How a batch used the pool, on stderr: instances placed per host, hosts lost.
    static func reportPlacements(_ pool: HostPool) async {
        let placements = await pool.placements
        let lost = await pool.lostHosts
        let split = pool.spec.hosts.map { "\($0.name) \(placements[$0.name] ?? 0)" }.joined(separator: ", ")
        Output.progress("placed per host: \(split)" + (lost.isEmpty ? "" : "; lost: \(lost.keys.sorted().joined(separator: ", "))"))
    }

    /// One submission's report; a submission that cannot be graded is a rejection, and the batch goes on.
    static func grade(_ file: URL, lab: LabSpec, grader: Grader, secret: Data, possible: Double,
                      replay: (@Sendable (ReplayRequest) async throws -> ReplayOutcome)?) async -> GradeReport {
        // A file name is the student's text: shown escaped and short, on the terminal and in cells.
        let name = displayText(file.lastPathComponent, limit: 80)
        do {
            let submission = try Submission.read(file, limits: .of(lab))
            guard submission.lab == lab.name else {
                throw SubmissionError("it is for lab '\(displayText(submission.lab, limit: 64))', not \(lab.name)")
            }
            if submission.labDigest != Coursework.labDigest(lab) {
                Output.warn("\(name): made with a different version of Labs/\(lab.name)/lab.yaml")
            }
            try submission.verifyParameters(lab: lab, secret: secret)
            Output.progress("grading \(name) (\(submission.student))")
            let report = await grader.grade(Evidence(submission: submission, lab: lab, secret: secret), replay: replay)
            if let reason = report.rejected { Output.warn("\(name) rejected: \(reason)") }
            return report
        } catch {
            let reason = oneLineReason("\(error)")
            Output.warn("\(name) rejected: \(reason)")
            return .rejection(student: name, lab: lab.name, possible: possible, reason: reason)
        }
    }

    /// Files named on the command line, and the *.json files of folders named there.
    func submissionFiles() throws -> [URL] {
        var files: [URL] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw VMLabError(.notFound, "no submission file or folder \(path)")
            }
            if isDirectory.boolValue {
                let entries = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".json") }.sorted()
                files += entries.map { URL(fileURLWithPath: path).appendingPathComponent($0) }
            } else {
                files.append(URL(fileURLWithPath: path))
            }
        }
        return files
    }
}

/// `vmlab validate [LAB...] [--junit FILE]`: the course's CI.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove every lab and grader in real guests: image builds, lab starts, reference solution earns full marks, an empty submission fails.")

    @Argument(help: "Labs to validate (default: every lab with a rubric).") var labs: [String] = []
    @Option(help: "Write JUnit XML here (a test case per lab and assertion).") var junit: String?
    @Option(help: "Labs validated at once; the report lists them in the same order for any count.") var jobs: Int = 1
    @OptionGroup var pool: PoolOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...16).contains(jobs) else { throw ValidationError("--jobs \(jobs): give 1 to 16") }
    }

    func run() async throws {
        let coursework = try global.coursework()
        let names = labs.isEmpty
            ? coursework.catalog.names().filter {
                coursework.catalog.layout.hasRubric($0)
            }
            : labs
        guard !names.isEmpty else { throw VMLabError(.notFound, "no lab with a rubric (Grading/NAME/rubric.yaml) to validate") }
        let global = self.global
        let pool = try self.pool.pool(global)
        let validator = Validator(coursework: coursework, accelerator: try await global.accelerator(),
                                  secret: try global.courseSecret(), pool: pool, image: { lab in try await global.image(for: lab) })
        let started = ContinuousClock.now
        let perLab = await concurrentMap(names, jobs: jobs, finished: { index, labCases, done, total in
            let failed = labCases.filter { $0.failure != nil }.count
            Output.progress("[\(done)/\(total)] \(names[index]): \(failed == 0 ? "passed" : "\(failed) failed"); "
                            + estimatedRemaining(elapsed: ContinuousClock.now - started, done: done, total: total))
        }) { name in await validator.validate(name) }
        if let pool { await Grade.reportPlacements(pool) }
        var cases: [(name: String, className: String, failure: String?, seconds: Double)] = []
        for (name, labCases) in zip(names, perLab) {
            for c in labCases {
                cases.append((c.name, name, c.failure, c.seconds))
                Output.line("\(c.failure == nil ? "[pass]" : "[FAIL]") \(name): \(c.name) (\(String(format: "%.1f", c.seconds)) s)")
                if let failure = c.failure { Output.line("       " + failure.replacingOccurrences(of: "\n", with: "\n       ")) }
            }
        }
        if let junit {
            try Gradebook.junit(suiteName: "vmlab validate", cases: cases).write(toFile: junit, atomically: true, encoding: .utf8)
        }
        let failed = cases.filter { $0.failure != nil }
        Output.line("\(cases.count - failed.count) passed, \(failed.count) failed")
        if !failed.isEmpty { throw VMLabError(.failed, "\(failed.count) validation case(s) failed") }
    }
}
