import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab snapshot create|revert|list|rm NAME [SNAP]`.
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Snapshot a guest (disk and memory) and go back to it in seconds.",
        subcommands: [Create.self, Revert.self, List.self, Remove.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a snapshot of a guest.")
        @Argument(help: "Guest name.") var name: String
        @Argument(help: "Snapshot name.") var snapshot: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try global.guests().snapshot(name, as: snapshot)
            Output.line("\(name)@\(snapshot)")
        }
    }

    struct Revert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revert a guest to a snapshot (waits for its agent).")
        @Argument(help: "Guest name.") var name: String
        @Argument(help: "Snapshot name.") var snapshot: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.guests().revert(name, to: snapshot)
            Output.line("\(name)@\(snapshot)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a guest's snapshots.")
        @Argument(help: "Guest name.") var name: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let snaps = try global.guests().snapshots(name)
            Output.table(["SNAPSHOT", "CREATED"], snaps.map { [$0.name, $0.created?.formatted(.iso8601) ?? "-"] })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a snapshot.")
        @Argument(help: "Guest name.") var name: String
        @Argument(help: "Snapshot name.") var snapshot: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try global.guests().deleteSnapshot(name, snapshot)
        }
    }
}
