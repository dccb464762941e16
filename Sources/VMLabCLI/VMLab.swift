import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// The `vmlab` command tree. Commands are thin: they parse flags into typed requests, call the core and print.
public struct VMLab: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vmlab",
        abstract: "Run operating-systems and virtualization labs in sandboxed QEMU guests.",
        discussion: "Results go to stdout, progress to stderr. Start with `vmlab doctor`.",
        subcommands: [
            Doctor.self, LabCommand.self, Run.self, Results.self, Report.self, Exec.self, Console.self,
            Check.self, Submit.self, Grade.self, Validate.self, CourseCommand.self, Hosts.self,
            VMCommand.self, SnapshotCommand.self, ImageCommand.self, GC.self, DocsCommand.self,
        ])

    public init() {}

    /// Runs the command and turns errors into a message and an exit status a script can test:
    /// 64 usage, 65 bad spec file, 66 not found, 69 unavailable, 75 timeout or busy, 1 otherwise.
    /// SIGINT, SIGTERM and SIGHUP interrupt the command cleanly (see `SignalWatch`) and
    /// exit 128 + the signal: 130 for Ctrl-C, 143 for SIGTERM.
    public static func runMain(_ arguments: [String]? = nil) async {
        let task = Task {
            var command = try parseAsRoot(arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        }
        let signals = SignalWatch(cancelling: task)
        do {
            try await task.value
        } catch where signals.signal != nil {
            let number = signals.signal!
            FileHandle.standardError.write(Data("vmlab: interrupted by \(SignalWatch.name(number))\n".utf8))
            Foundation.exit(128 + number)
        } catch let error as VMLabError {
            FileHandle.standardError.write(Data("vmlab: \(error)\n".utf8))
            Foundation.exit(exitStatus(error.code))
        } catch let error as SpecErrors {
            FileHandle.standardError.write(Data("vmlab: invalid file:\n\(error)\n".utf8))
            Foundation.exit(65)
        } catch {
            exit(withError: error)
        }
    }

    static func exitStatus(_ code: VMLabError.Code) -> Int32 {
        switch code {
        case .invalidInput: 64
        case .notFound: 66
        case .unavailable: 69
        case .timeout, .busy: 75
        case .invalidState, .alreadyExists, .failed: 1
        }
    }
}
