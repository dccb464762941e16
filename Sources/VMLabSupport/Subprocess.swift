import Foundation
import Synchronization

/// The one way vmlab runs host tools (supermin, qemu-img, qemu): to completion capturing
/// what they print, or until a marker line shows up.
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// What `runUntil` saw.
    public struct MarkerOutcome: Sendable {
        public let found: Bool
        /// The process ended on its own (as opposed to being stopped by us).
        public let exited: Bool
        /// The last bytes of its output, for error messages.
        public let tail: String
    }

    /// Runs `argv` to completion off the cooperative pool. Throws `unavailable` when the
    /// tool is not installed, `failed` (with its stderr) when it exits non-zero and
    /// `check` is set.
    @discardableResult
    public static func run(_ argv: [String], environment: [String: String]? = nil,
                           check: Bool = true) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try runBlocking(argv, environment: environment, check: check) })
            }
        }
    }

    /// The synchronous form, for callers already off the cooperative pool.
    @discardableResult
    public static func runBlocking(_ argv: [String], environment: [String: String]? = nil,
                                   check: Bool = true) throws -> Result {
        let process = try prepare(argv, environment: environment)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes concurrently so a chatty tool cannot block on a full pipe.
        let group = DispatchGroup()
        let errors = OutputBuffer()
        group.enter()
        DispatchQueue.global().async {
            errors.append(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let result = Result(status: process.terminationStatus,
                            stdout: String(decoding: outData, as: UTF8.self),
                            stderr: errors.text)
        if check && result.status != 0 {
            let detail = result.stderr.split(separator: "\n").suffix(8).joined(separator: "\n")
            throw VMLabError(.failed, "\(argv.prefix(3).joined(separator: " ")) exited with status \(result.status)",
                             cause: VMLabError(.failed, detail))
        }
        return result
    }

    /// Starts `argv` with stdout and stderr on one pipe, returns when `marker` appears in its
    /// output or `timeout` passes, and then ends the process it started (by pid). The KVM
    /// probe boots a raw QEMU this way and waits for its console to print.
    public static func runUntil(marker: String, _ argv: [String], timeout: Duration) async throws -> MarkerOutcome {
        let process = try prepare(argv, environment: nil)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            output.append(handle.availableData)
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        var found = false
        while ContinuousClock.now < deadline, process.isRunning {
            if output.contains(marker) { found = true; break }
            try await Task.sleep(for: .milliseconds(20))
        }
        found = found || output.contains(marker)
        let exited = !process.isRunning
        if process.isRunning {
            // Foundation starts the child in a process group of its own: ending the group
            // also ends what the child started (`timeout` runs the QEMU it guards).
            kill(-process.processIdentifier, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        return MarkerOutcome(found: found, exited: exited && !found, tail: String(output.text.suffix(300)))
    }

    /// A process for `argv` with the tool resolved on PATH, `environment` added to ours and
    /// stdin closed; throws `unavailable` when the tool is not installed.
    private static func prepare(_ argv: [String], environment: [String: String]?) throws -> Process {
        guard let tool = argv.first, let path = which(tool) else {
            throw VMLabError(.unavailable, "'\(argv.first ?? "")' is not installed; run scripts/setup.sh (or `make demo`) to install vmlab's host packages")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(argv.dropFirst())
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardInput = FileHandle.nullDevice
        return process
    }

    /// The absolute path of a tool found on PATH (plus the sbin directories root tools live in).
    public static func which(_ tool: String) -> String? {
        if tool.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Bytes appended by a pipe's reader thread and read by the task waiting on the process.
final class OutputBuffer: Sendable {
    private let data = Mutex(Data())

    func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
    func contains(_ s: String) -> Bool { data.withLock { $0.range(of: Data(s.utf8)) != nil } }
}
