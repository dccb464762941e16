import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab gc`: removes whatever an interrupted run recorded but did not finish.
struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove domains, networks and disks that a killed or failed run left behind.")

    @Flag(help: "Only list what would be removed.")
    var dryRun = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let runner = try global.runner()
        let garbage = try runner.collectGarbage(dryRun: true)
        for r in garbage { Output.line("\(dryRun ? "would remove" : "removing") \(r.kind.rawValue) \(r.name) (\(r.owner))") }
        if !dryRun { _ = try runner.collectGarbage() }
        if garbage.isEmpty { Output.progress("nothing to collect") }
    }
}
