import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab run LAB EXPERIMENT [--set k=v]... [--sweep k=a,b]... [--repeat N]`.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a lab experiment once per parameter combination, from the baseline each time.",
        discussion: "Example: vmlab run journal-replay crash-replay --sweep commit=1,5,30 --repeat 3")

    @Argument(help: "Lab name.") var lab: String
    @Argument(help: "Experiment name (see `vmlab lab show LAB`).") var experiment: String
    @Option(name: .customLong("set"), help: "NAME=VALUE for one run setting (repeatable).") var sets: [String] = []
    @Option(name: .customLong("sweep"), help: "NAME=V1,V2,... to run once per value (repeatable: all combinations).")
    var sweeps: [String] = []
    @Option(name: .customLong("repeat"), help: "Runs per combination.") var repetitions: Int = 1
    @OptionGroup var workspace: WorkspaceOption
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let spec = try global.catalog().load(lab)
        guard let exp = spec.experiment(experiment) else {
            throw VMLabError(.notFound, "lab \(lab) has no experiment '\(experiment)' (it has: \(spec.experiments.map(\.name).joined(separator: ", ")))")
        }
        let (runner, instance) = try global.placedInstance(lab)
        let request = RunRequest(settings: try sets.map(ParameterArgument.setting), sweeps: try sweeps.map(ParameterArgument.sweep),
                                 repetitions: repetitions)
        let plans = try spec.plan(request, studentValues: instance.fixed)
        let runs = try await runner.run(spec, instance: instance, experiment: exp, plans: plans,
                                        workspace: try workspace.read(for: spec, instance: instance))
        let ids = Set(runs.compactMap(\.id))
        let measured = try runner.store.measurements(instance: instance.id, experiment: experiment).filter { ids.contains($0.runID) }
        Output.line(ResultsTable(spec.inDeclaredOrder(measured)).text())
        let failed = runs.filter { $0.status == .failed }
        if !failed.isEmpty {
            throw VMLabError(.failed, "\(failed.count) of \(runs.count) runs failed:\n  "
                + failed.map { "run \($0.id ?? 0): \($0.error ?? "")" }.joined(separator: "\n  "))
        }
    }
}

/// `vmlab results LAB [--experiment E] [--format table|json|csv]`.
struct Results: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the measurements of a lab's latest instance (started or stopped).")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Argument(help: "Lab name.") var lab: String
    @Option(help: "Only this experiment.") var experiment: String?
    @Option(help: "table, json or csv.") var format: Format = .table
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let store = try global.store()
        guard let instance = try store.latestInstance(lab: lab) else {
            throw VMLabError(.notFound, "lab \(lab) has never been started here; `vmlab lab start \(lab)`")
        }
        var measured = try store.measurements(instance: instance.id, experiment: experiment)
        let spec = try? global.catalog().load(lab)
        if let spec { measured = spec.inDeclaredOrder(measured) }
        let table = ResultsTable(measured)
        switch format {
        case .table:
            Output.line(table.text())
            // Kernel trouble (kernel-events measures): the first line of each run's first report.
            let runs = Set(measured.map(\.runID))
            for note in try spec.map({ try LabRunner.kernelEventTraces(home: global.home, store: store, of: instance, lab: $0) }) ?? [] where runs.contains(note.run) {
                Output.line("run \(note.run) \(note.vm): \(note.trace.prefix { $0 != "\n" })")
            }
        case .csv: Output.raw(table.csv())
        case .json: Output.line(try table.json())
        }
    }
}

/// `vmlab report LAB -o report.html`.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report: a plot per measurement against the swept parameter, and the raw table.")

    @Argument(help: "Lab name.") var lab: String
    @Option(name: .shortAndLong, help: "Output file.") var output: String = "report.html"
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let store = try global.store()
        guard let instance = try store.latestInstance(lab: lab) else {
            throw VMLabError(.notFound, "lab \(lab) has never been started here; `vmlab lab start \(lab)`")
        }
        let spec = try? global.catalog().load(lab)
        let measured = try store.measurements(instance: instance.id)
        let notes = try spec.map { try LabRunner.kernelEventTraces(home: global.home, store: store, of: instance, lab: $0) } ?? []
        let html = HTMLReport(title: spec?.title ?? lab, summary: spec?.summary ?? "", labName: lab, generatedAt: Date(),
                              measurements: spec?.inDeclaredOrder(measured) ?? measured,
                              kernelEvents: notes.map { KernelEventNote(run: $0.run, vm: $0.vm, trace: $0.trace) }).render()
        try Data(html.utf8).write(to: URL(fileURLWithPath: output))
        Output.line(output)
    }
}
