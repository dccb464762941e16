import Foundation
import VMLabSupport

/// What a command run in a guest produced.
public struct ExecResult: Sendable, Equatable {
    public var exitCode: Int32
    /// Set when the command was ended by a signal.
    public var signal: Int32?
    public var stdout: Data
    public var stderr: Data
    /// Set when the guest dropped part of stdout or stderr (the QEMU agent keeps at most
    /// 16 MiB of each), so a check on the output knows it saw only its start.
    public var truncated: Bool
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    public init(exitCode: Int32, signal: Int32? = nil, stdout: Data, stderr: Data, truncated: Bool = false) {
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated
    }
}
