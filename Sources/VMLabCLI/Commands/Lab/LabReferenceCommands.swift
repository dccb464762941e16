import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

extension LabCommand {
    /// `vmlab lab schema`: the JSON schema of lab.yaml, generated from the step kinds.
    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the JSON schema of lab.yaml (docs/lab.schema.json), for editors.",
            discussion: "Regenerate the committed copy with: vmlab lab schema > docs/lab.schema.json")

        func run() throws {
            Output.raw(LabSchema.document().rendered())
        }
    }

    /// `vmlab lab reference`: the step and measure tables of docs/lab-authoring.md.
    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the step and measure reference of the lab-authoring guide, or update the guide in place.")

        @Option(help: "Replace the generated section of this guide (docs/lab-authoring.md) instead of printing.")
        var update: String?

        func run() throws {
            guard let update else {
                Output.raw(LabReference.markdown())
                return
            }
            let url = URL(fileURLWithPath: update)
            let guide: String
            do { guide = try String(contentsOf: url, encoding: .utf8) } catch {
                throw VMLabError(.notFound, "cannot read \(url.path)", cause: error)
            }
            try Data(try LabReference.updating(guide).utf8).write(to: url)
            Output.line(url.path)
        }
    }
}
