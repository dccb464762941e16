import Foundation

/// Runs host tools (supermin, qemu-img, qemu) and captures what they print.
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
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
        guard let tool = argv.first, let path = which(tool) else {
            throw VMLabError(.unavailable, "'\(argv.first ?? "")' is not installed; run scripts/setup.sh (or `make demo`) to install vmlab's host packages")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(argv.dropFirst())
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes concurrently so a chatty tool cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let result = Result(status: process.terminationStatus,
                            stdout: String(decoding: outData, as: UTF8.self),
                            stderr: String(decoding: errData, as: UTF8.self))
        if check && result.status != 0 {
            let detail = result.stderr.split(separator: "\n").suffix(8).joined(separator: "\n")
            throw VMLabError(.failed, "\(argv.prefix(3).joined(separator: " ")) exited with status \(result.status)",
                             cause: VMLabError(.failed, detail))
        }
        return result
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
