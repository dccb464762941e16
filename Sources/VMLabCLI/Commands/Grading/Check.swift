import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab check LAB`: the student's self-check.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Self-check a lab: which rubric checks pass so far, with feedback (expected values stay hidden).",
        discussion: "Checks that need a replay in fresh guests only run when the instructor grades.")

    @Argument(help: "Lab name.") var lab: String
    @Option(help: "Your answers file.") var answers: String = "answers.yaml"
    @OptionGroup var workspace: WorkspaceOption
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (runner, instance) = try global.placedInstance(lab)
        let coursework = Coursework(runner: runner, catalog: try global.catalog())
        let spec = try coursework.catalog.load(lab)
        let rubric = try coursework.rubric(for: spec)
        let answerValues = FileManager.default.fileExists(atPath: answers) ? try loadAnswers(URL(fileURLWithPath: answers)) : [:]
        if answerValues.isEmpty { Output.progress("no answers read (\(answers) not found)") }
        let artifacts = try await coursework.collectArtifacts(lab: spec, instance: instance,
                                                              workspace: workspace.directory(for: spec, instance: instance))
        let evidence = try coursework.evidence(lab: spec, instance: instance, student: instance.student ?? "me",
                                               answers: answerValues, artifacts: artifacts)
        let report = await Grader(rubric: rubric, lab: spec).grade(evidence, replay: nil, onlyLocal: true, forStudent: true)
        if let rejected = report.rejected {
            throw VMLabError(.invalidState, "your results cannot be graded: \(rejected)")
        }
        for check in report.checks {
            Output.line("\(check.passed ? "[pass]" : check.earned > 0 ? "[part]" : "[fail]") \(check.id): \(check.title)")
            if let feedback = check.feedback, !feedback.isEmpty { Output.line("       \(feedback)") }
        }
        Output.line(String(format: "%.1f of %.1f points from the checks that run locally", report.total, report.possible))
    }
}

/// `vmlab submit LAB --student ID -o FILE`.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write your submission: this lab instance's runs and measurements, your answers, the lab's artifacts.")

    @Argument(help: "Lab name.") var lab: String
    @Option(help: "Your student id (the one the lab was started with).") var student: String
    @Option(help: "Your answers file.") var answers: String = "answers.yaml"
    @Option(name: .shortAndLong, help: "Submission file to write.") var output: String = "submission.json"
    @OptionGroup var workspace: WorkspaceOption
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (runner, instance) = try global.placedInstance(lab)
        let coursework = Coursework(runner: runner, catalog: try global.catalog())
        let spec = try coursework.catalog.load(lab)
        guard instance.student == student else {
            throw VMLabError(.invalidState, "this instance of \(lab) was started "
                + (instance.student.map { "for student \($0)" } ?? "without --student")
                + "; start it with `vmlab lab start \(lab) --student-key \(student).key` (your key file) and run your experiments there")
        }
        let answerValues = FileManager.default.fileExists(atPath: answers) ? try loadAnswers(URL(fileURLWithPath: answers)) : [:]
        if answerValues.isEmpty { Output.warn("no answers: \(answers) not found") }
        let submission = try await coursework.submission(lab: spec, instance: instance, student: student, answers: answerValues,
                                                         workspace: workspace.directory(for: spec, instance: instance))
        try submission.encoded(limits: .of(spec)).write(to: URL(fileURLWithPath: output))
        Output.progress("\(submission.runs.count) runs, \(submission.measurements.count) measurements, "
            + "\(submission.answers.count) answers, \(submission.artifacts.count) artifacts")
        Output.line(output)
    }
}
