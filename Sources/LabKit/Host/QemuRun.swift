import Foundation

/// Runs a raw QEMU with its serial console on stdout and waits for a marker line: the KVM
/// probe and the benchmark's floor both need exactly this.
public enum QemuRun {
    public struct Outcome: Sendable {
        public let found: Bool
        /// QEMU ended on its own (as opposed to being stopped by us).
        public let exited: Bool
        /// The last bytes of the console, for error messages.
        public let tail: String
    }

    /// Starts `argv`, returns when `marker` appears on stdout or `timeout` passes, and then
    /// ends the QEMU it started (by pid).
    public static func untilMarker(_ argv: [String], marker: String, timeout: Duration) async throws -> Outcome {
        guard let path = Subprocess.which(argv[0]) else {
            throw VMLabError(.unavailable, "\(argv[0]) is not installed; run scripts/setup.sh")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let buffer = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            buffer.append(handle.availableData)
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        var found = false
        while ContinuousClock.now < deadline, process.isRunning {
            if buffer.contains(marker) { found = true; break }
            try await Task.sleep(for: .milliseconds(20))
        }
        found = found || buffer.contains(marker)
        let exited = !process.isRunning
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        return Outcome(found: found, exited: exited && !found, tail: String(buffer.text.suffix(300)))
    }
}

/// Bytes collected from a pipe handler thread and read from an async task.
final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    func contains(_ s: String) -> Bool { lock.withLock { data.range(of: Data(s.utf8)) != nil } }
}
