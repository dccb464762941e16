import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab exec NAME -- CMD...`: run a program in a guest through its agent.
struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command in a guest; its output and exit status become vmlab's.",
        discussion: """
            A stand-alone guest is named alone (vmlab exec web -- uname -a); a lab's VM by lab and VM \
            (vmlab exec journal-replay box -- dmesg). Standard input is passed on when it is not a terminal.
            """)

    @Argument(help: "Guest name, or lab name when a VM name follows.")
    var name: String

    @Argument(help: "VM name within the lab.")
    var vm: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments (after --).")
    var command: [String]

    @Option(name: .customLong("env"), help: "KEY=VALUE for the command's environment (repeatable).")
    var environment: [String] = []

    @Option(help: "Seconds before the command is killed.")
    var timeout: Int = 300

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. vmlab exec web -- uname -a") }
        var env: [String: String] = [:]
        for pair in environment {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--env '\(pair)' must look like KEY=VALUE")
            }
            env[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        let input: Data? = isatty(STDIN_FILENO) == 0 ? try Self.boundedStdin() : nil
        let agent = try global.agent(for: [name] + (vm.map { [$0] } ?? []))
        let result = try await agent.exec(command, stdin: input, environment: env, timeout: .seconds(timeout))
        FileHandle.standardOutput.write(result.stdout)
        FileHandle.standardError.write(result.stderr)
        if result.truncated {
            Output.warn("the command's output was cut at \(GuestAgent.maxOutputBytes >> 20) MiB per stream (stdout, stderr); "
                        + "write more to a file in the guest and copy it out in parts")
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }

    /// Largest input `vmlab exec` passes on: more belongs in a file copied in.
    static let maxStdinBytes = 64 << 20

    /// Standard input up to `maxStdinBytes`; more is an error, not an unbounded read.
    static func boundedStdin() throws -> Data {
        var data = Data()
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            data.append(chunk)
            guard data.count <= maxStdinBytes else {
                throw VMLabError(.invalidInput, "standard input is over \(maxStdinBytes >> 20) MiB; put large files "
                                 + "into the guest with a lab's copy-in or the workspace instead of piping them to `vmlab exec`")
            }
        }
        return data
    }
}
