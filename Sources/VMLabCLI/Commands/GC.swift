import ArgumentParser
import Foundation
import LabKit

/// `vmlab gc`: removes whatever an interrupted run recorded but did not finish.
struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove domains, networks and disks that a killed or failed run left behind.")

    @Flag(help: "Only list what would be removed.")
    var dryRun = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let cleanup = Cleanup(store: try global.store(), connection: try global.connection())
        let orphans = try cleanup.orphans()
        for r in orphans { Output.line("\(dryRun ? "would remove" : "removing") \(r.kind.rawValue) \(r.name) (\(r.owner))") }
        if !dryRun { try cleanup.remove(orphans) }
        if orphans.isEmpty { Output.progress("nothing to collect") }
    }
}
