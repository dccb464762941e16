import ArgumentParser
import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
@testable import VMLabCLI
@testable import VMLabSupport

/// Guards docs/commands.md: it is what `vmlab docs commands` generates, and the generator
/// covers every visible command and nothing hidden.
@Suite("Command reference")
struct CommandReferenceTests {
    /// The repository root: this file is Tests/VMLabCLITests/CommandReferenceTests.swift.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func committedReferenceIsUpToDate() throws {
        let file = Self.repository.appendingPathComponent("docs/commands.md")
        let committed = try String(contentsOf: file, encoding: .utf8)
        let generated = CommandReference.markdown()
        let committedLines = committed.components(separatedBy: "\n"), generatedLines = generated.components(separatedBy: "\n")
        let first = zip(committedLines, generatedLines).enumerated().first { $0.element.0 != $0.element.1 }
        let location = first.map { "line \($0.offset + 1): committed '\($0.element.0)', generated '\($0.element.1)'" }
            ?? "committed \(committedLines.count) lines, generated \(generatedLines.count)"
        #expect(committed == generated,
                "docs/commands.md is out of date (\(location)); regenerate it with `\(CommandReference.regenerate)`")
    }

    @Test func everyVisibleCommandHasAHeadingAndItsHelp() {
        let markdown = CommandReference.markdown()
        for (path, type) in CommandReference.commands(VMLab.self) {
            #expect(markdown.contains("\n## \(path)\n\n```\n"), "no section for \(path)")
            #expect(markdown.contains("USAGE: \(path)"), "no usage line for \(path)")
            #expect(markdown.contains(type.configuration.abstract.prefix(40)), "no abstract for \(path)")
        }
        #expect(CommandReference.commands(VMLab.self).map(\.path).contains("vmlab vm create"))
    }

    @Test func hiddenCommandsAreLeftOut() {
        let paths = CommandReference.commands(VMLab.self).map(\.path)
        #expect(!paths.contains { $0.hasPrefix("vmlab docs") })
        #expect(!CommandReference.markdown().contains("## vmlab docs"))
    }

    @Test func helpIsWrappedAtTheFixedWidth() {
        let markdown = CommandReference.markdown()
        let blocks = markdown.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        #expect(!blocks.isEmpty)
        for line in blocks.flatMap({ $0.split(separator: "\n") }) where !line.hasPrefix("USAGE:") {
            #expect(line.count <= CommandReference.columns, "wider than \(CommandReference.columns): \(line)")
        }
        #expect(markdown == CommandReference.markdown())
    }

    @Test func docsCommandsParses() throws {
        #expect(try VMLab.parseAsRoot(["docs", "commands"]) is DocsCommand.Commands)
    }
}
