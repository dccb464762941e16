import ArgumentParser
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `--format table|json` for commands that list things.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

func mebibytes(_ bytes: UInt64) -> String {
    String(format: "%.1f MiB", Double(bytes) / 1_048_576)
}
