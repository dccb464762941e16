import Foundation
import VMLabSupport

/// A child process of an integration test: started with posix_spawn through
/// `/bin/sh -c 'exec …'`, its output in files, reaped with wait4. Not Foundation's Process:
/// it was seen to miss the exit of a script that starts daemons (`waitUntilExit` never
/// returned, the script a zombie), which would hang the suite.
final class SpawnedProcess {
    let pid: pid_t
    let stdoutFile: URL, stderrFile: URL
    /// Exit status (128 + signal for a signal) once reaped.
    private(set) var status: Int32?
    /// The child's resource use from wait4 once reaped: `ru_maxrss` counts the children it
    /// waited for too.
    private(set) var usage = rusage()

    /// Starts `argv` with the test's environment plus `environment`, stdin from /dev/null.
    /// `append` adds to the output files instead of replacing them.
    init(_ argv: [String], environment: [String: String] = [:], stdout: URL, stderr: URL, append: Bool = false) throws {
        let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let redirect = append ? ">>" : ">"
        let command = "exec " + quoted.joined(separator: " ")
            + " </dev/null \(redirect)'\(stdout.path)' 2\(redirect)'\(stderr.path)'"
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let args: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { (args + envp).forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, args, envp) == 0 else {
            throw VMLabError(.failed, "cannot start \(argv.first ?? "")")
        }
        self.pid = pid
        self.stdoutFile = stdout
        self.stderrFile = stderr
    }

    /// The same with fresh output files in `scratch`.
    convenience init(_ argv: [String], environment: [String: String] = [:], scratch: URL) throws {
        let tag = UUID().uuidString.prefix(8)
        try self.init(argv, environment: environment, stdout: scratch.appendingPathComponent("\(tag).out"),
                      stderr: scratch.appendingPathComponent("\(tag).err"))
    }

    /// Reaps the child if it has ended; true while it runs.
    var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        let reaped = wait4(pid, &raw, WNOHANG, &usage)
        if reaped == pid { status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f) }
        else if reaped < 0 && errno != EINTR { status = -1 }
        return status == nil
    }

    /// Waits for the end, polling every `interval` while `whileRunning` is called (to sample
    /// the child); returns the exit status.
    @discardableResult
    func finish(interval: Duration = .milliseconds(100), whileRunning: () -> Void = {}) async throws -> Int32 {
        while isRunning {
            whileRunning()
            try await Task.sleep(for: interval)
        }
        return status ?? -1
    }

    /// Sends `signal` if the child still runs.
    func kill(_ signal: Int32 = SIGKILL) {
        if isRunning { _ = Glibc.kill(pid, signal) }
    }

    var stdout: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var stdoutData: Data { (try? Data(contentsOf: stdoutFile)) ?? Data() }
    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }
}
