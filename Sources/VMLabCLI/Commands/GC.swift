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

    @OptionGroup var pool: PoolOptions
    @OptionGroup var global: GlobalOptions

    /// With a host pool, every host of it in turn (one that does not answer is skipped and
    /// named); else the one host.
    func run() async throws {
        guard let file = pool.file(global) else { return try collect(try global.runner(), host: nil) }
        for host in try HostPoolSpec.load(file).hosts {
            do {
                var runner = try global.runner(at: host.uri)
                runner.storage = host.storage
                try collect(runner, host: host.name)
            } catch {
                Output.warn("host \(host.name): \(error); run `vmlab gc` again when it answers")
            }
        }
    }

    func collect(_ runner: LabRunner, host: String?) throws {
        let on = host.map { " on host \($0)" } ?? ""
        let garbage = try runner.collectGarbage(dryRun: true)
        for r in garbage { Output.line("\(dryRun ? "would remove" : "removing") \(r.kind.rawValue) \(r.name) (\(r.owner))\(on)") }
        if !dryRun { _ = try runner.collectGarbage() }
        if garbage.isEmpty { Output.progress("nothing to collect\(on)") }
    }
}
