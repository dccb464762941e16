import ArgumentParser
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// docs/commands.md, generated from the command tree so the reference cannot drift from
/// what `vmlab help` says. Help is rendered at a fixed width, so the text is the same on
/// every machine and terminal, and a test can compare it with the committed file.
enum CommandReference {
    static let columns = 80
    static let regenerate = "swift run vmlab docs commands > docs/commands.md"

    /// Every visible command, parents before children in declaration order, as a markdown
    /// heading (`## vmlab vm create`) over its full help in a fenced block.
    static func markdown(root: any ParsableCommand.Type = VMLab.self) -> String {
        var out = "# vmlab command reference\n\n"
            + "Generated from the command tree by `vmlab docs commands`; after changing a command, run\n"
            + "`\(regenerate)`.\n"
        for (path, command) in commands(root) {
            var help = root.helpMessage(for: command, columns: columns)
            while help.last?.isNewline == true { help.removeLast() }
            out += "\n## \(path)\n\n```\n\(help)\n```\n"
        }
        return out
    }

    /// `type` and the commands below it with their full paths ("vmlab vm create"), leaving
    /// out hidden commands and everything below them.
    static func commands(_ type: any ParsableCommand.Type, prefix: [String] = [])
        -> [(path: String, type: any ParsableCommand.Type)] {
        guard type.configuration.shouldDisplay else { return [] }
        let path = prefix + [type._commandName]
        return [(path.joined(separator: " "), type)] + type.configuration.subcommands.flatMap { commands($0, prefix: path) }
    }
}
