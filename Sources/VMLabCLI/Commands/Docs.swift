import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab docs commands`: hidden, for maintainers; prints docs/commands.md.
struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs", abstract: "Generate vmlab's reference documentation.",
        shouldDisplay: false, subcommands: [Commands.self])

    struct Commands: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "commands",
            abstract: "Print the command reference as markdown (redirect it to docs/commands.md).")

        func run() {
            Output.raw(CommandReference.markdown())
        }
    }
}
