import Foundation
import LabModel
import LabStore
import VMLabSupport

/// Sends one QEMU guest agent command (JSON) and returns the JSON reply. The real one goes
/// through libvirt; tests substitute a fake guest.
public protocol AgentTransport: Sendable {
    func agentCommand(_ json: String, timeoutSeconds: Int32) throws -> String
    /// Why the guest cannot answer at all ("shut off", "crashed"), or nil while it runs:
    /// a wait for the agent ends at once instead of running out its timeout.
    func notRunningReason() throws -> String?
}

extension AgentTransport {
    public func notRunningReason() throws -> String? { nil }
}

/// A client of the QEMU guest agent: runs programs and reads and writes files in a guest.
public struct GuestAgent: Sendable {
    public let guest: String
    let transport: any AgentTransport

    public init(guest: String, transport: any AgentTransport) {
        self.guest = guest
        self.transport = transport
    }

    /// The most `readFile` takes from a guest unless told otherwise: the guest decides how
    /// long a file is (/dev/zero never ends), so the host's memory needs a bound.
    public static let defaultMaxFileBytes = 16 << 20

    /// How long `readFile` may take unless told otherwise.
    public static let defaultReadTimeout = Duration.seconds(60)

    /// The longest reply decoded. qemu-ga buffers at most 16 MiB of each of stdout and
    /// stderr, about 43 MiB as base64; anything longer is not a well-behaved agent. (libvirt
    /// has already received the text; this bounds what decoding it costs on top.)
    static let maxReplyBytes = 48 << 20

    /// The most of each of stdout and stderr an exec brings back. qemu-ga keeps up to 16
    /// MiB of each stream, but libvirt carries an agent reply as one RPC string of at most
    /// 4 MiB (and drops the agent channel for good past 10 MiB), so the cap is applied
    /// inside the guest (`cappedArgv`): the base64 of both streams stays under 2.7 MiB.
    public static let maxOutputBytes = 1 << 20

    /// The bytes asked for per guest-file-read.
    static let chunkBytes = 1 << 20
    /// The bytes sent per guest-file-write: a request (unlike a reply) of about 150 KB made
    /// the agent channel unavailable, so writes go in pieces the size of inline stdin.
    static let writeChunkBytes = 48 << 10

    /// Answers whether the agent responds right now.
    public func ping(timeoutSeconds: Int32 = 1) async -> Bool {
        (try? await callOffPool(GuestPing(), timeoutSeconds: timeoutSeconds)) != nil
    }

    /// Polls until the agent answers or `timeout` passes.
    public func waitUntilReady(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await ping() { return }
            let transport = self.transport
            if let reason = try await offPool({ try transport.notRunningReason() }) {
                throw VMLabError(.failed, "'\(guest)' is \(reason), so its guest agent cannot answer; "
                    + "see what it printed with `vmlab console \(guest)` after starting it again")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw VMLabError(.timeout, "the guest agent of '\(guest)' did not answer within \(timeout.components.seconds) s; "
            + "see the boot messages with `vmlab console \(guest)`")
    }

    /// Runs `argv` in the guest (no shell), feeding `stdin`, and waits for it to exit.
    /// On `timeout` the process is killed and a `timeout` error is thrown; with
    /// `ownProcessGroup` (argv starts with `setsid`) its whole process group is killed, so
    /// nothing it started runs on into later steps.
    public func exec(_ argv: [String], stdin: Data? = nil, environment: [String: String] = [:],
                     timeout: Duration = .seconds(60), ownProcessGroup: Bool = false) async throws -> ExecResult {
        guard !argv.isEmpty else { throw VMLabError(.invalidInput, "no command given to run in '\(guest)'") }
        var command = argv
        var stdin = stdin
        if let input = stdin, input.count > Self.maxInlineStdinBytes {
            // Large input goes in as a file (chunked writes), which the command reads as stdin.
            let path = "/tmp/vmlab-stdin-\(UUID().uuidString.prefix(8).lowercased())"
            try await offPool { try self.writeFile(path, contents: input) }
            command = Self.stdinFromFile(argv, path: path, ownProcessGroup: ownProcessGroup)
            stdin = nil
        }
        let capped = Self.cappedArgv(command, ownProcessGroup: ownProcessGroup)
        var request = GuestExec(path: capped[0], arg: Array(capped.dropFirst()), captureOutput: true)
        if !environment.isEmpty {
            var env = environment
            if env["PATH"] == nil { env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
            request.env = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        }
        request.inputData = stdin?.base64EncodedString()
        let pid = try await callOffPool(request).pid
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(5)
        while true {
            let status = try await callOffPool(GuestExecStatus(pid: pid))
            if status.exited { return try result(of: status, argv: argv) }
            if ContinuousClock.now >= deadline {
                let victims = ownProcessGroup ? ["--", "-\(pid)", "\(pid)"] : ["\(pid)"]
                _ = try? await callOffPool(GuestExec(path: "kill", arg: ["-KILL"] + victims))
                throw VMLabError(.timeout, "`\(argv.joined(separator: " "))` in '\(guest)' did not finish within \(timeout.components.seconds) s and was killed")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(100))
        }
    }

    /// `argv` run by bash with its stdout and stderr each through `head -c`, one byte past
    /// `maxOutputBytes` so that the host can tell a cut stream. A program that writes
    /// without end (`cat /dev/zero`) gets SIGPIPE at the cap instead of filling qemu-ga's
    /// buffers; `pipefail` keeps the program's own exit status. With `ownProcessGroup` the
    /// wrapper goes inside `setsid -w`, so it leads the group a timeout kills.
    /// Input up to this size rides in the exec request itself; more goes in as a file first.
    /// The same request-size limit as file writes (`writeChunkBytes`): about 150 KB in one
    /// request made the agent channel unavailable for a while (100 KB worked).
    static let maxInlineStdinBytes = writeChunkBytes

    /// `argv` with its stdin read from `path`: the shell opens the file, removes it, and execs
    /// the command, so nothing is left in the guest even when the command is killed.
    static func stdinFromFile(_ argv: [String], path: String, ownProcessGroup: Bool) -> [String] {
        let redirect = ["sh", "-c", "exec 0<'\(path)' && rm -f '\(path)' && exec \"$@\"", "vmlab-stdin"]
        if ownProcessGroup, argv.count > 2, argv[0] == "setsid", argv[1] == "-w" {
            return ["setsid", "-w"] + redirect + argv.dropFirst(2)
        }
        return redirect + argv
    }

    static func cappedArgv(_ argv: [String], ownProcessGroup: Bool) -> [String] {
        let limit = maxOutputBytes + 1
        // stdout goes out on fd 3 to the outer head; stderr through the inner head to fd 2.
        // (No process substitution: a minimal guest has no /dev/fd.)
        let script = "set -o pipefail; { { \"$@\" 2>&1 1>&3 3>&-; } | head -c \(limit) 1>&2; } 3>&1 | head -c \(limit)"
        let wrapper = ["bash", "-c", script, "vmlab-exec"]
        if ownProcessGroup, argv.count > 2, argv[0] == "setsid", argv[1] == "-w" {
            return ["setsid", "-w"] + wrapper + argv.dropFirst(2)
        }
        return wrapper + argv
    }

    /// The result of an exited program. The guest wrote every number here, so each is
    /// range-checked: a nonsense exit code is an error, not a trap that ends vmlab.
    private func result(of status: ExecStatus, argv: [String]) throws -> ExecResult {
        let command = "`\(argv.joined(separator: " "))`"
        func nonsense(_ what: String, _ value: Int64) -> VMLabError {
            VMLabError(.failed, "the guest agent of '\(guest)' reported \(what) \(value) for \(command), "
                + "which no process can have; the agent in the guest is broken or was replaced")
        }
        var signal: Int32?
        if let value = status.signal {
            guard let valid = Int32(exactly: value) else { throw nonsense("signal", value) }
            signal = valid
        }
        let exitCode: Int32
        if let value = status.exitcode {
            guard let valid = Int32(exactly: value) else { throw nonsense("exit code", value) }
            exitCode = valid
        } else if let signal {
            // The shell's convention for a program ended by a signal.
            guard let valid = Int32(exactly: 128 + Int64(signal)) else { throw nonsense("signal", Int64(signal)) }
            exitCode = valid
        } else {
            exitCode = -1
        }
        let stdout = try base64(status.outData ?? "", "stdout of \(command)", command: GuestExecStatus.command)
        let stderr = try base64(status.errData ?? "", "stderr of \(command)", command: GuestExecStatus.command)
        let cut = stdout.count > Self.maxOutputBytes || stderr.count > Self.maxOutputBytes
        return ExecResult(
            exitCode: exitCode, signal: signal,
            stdout: stdout.prefix(Self.maxOutputBytes), stderr: stderr.prefix(Self.maxOutputBytes),
            truncated: cut || status.outTruncated == true || status.errTruncated == true)
    }

    /// Runs a shell command line (`sh -c`) in a session of its own (`setsid -w`), so a
    /// timeout ends the command and everything it started, not just the shell.
    public func shell(_ command: String, timeout: Duration = .seconds(60)) async throws -> ExecResult {
        try await exec(["setsid", "-w", "/bin/sh", "-c", command], timeout: timeout, ownProcessGroup: true)
    }

    /// Reads a whole file from the guest, at most `defaultMaxFileBytes` within `defaultReadTimeout`.
    public func readFile(_ path: String) throws -> Data {
        try readFile(path, maxBytes: Self.defaultMaxFileBytes, timeout: Self.defaultReadTimeout)
    }

    /// The file, or nil when the guest says there is no such file. Every other failure (too
    /// large, never ending, agent gone) is an error: an artifact that cannot be read must
    /// not pass for one the student never made.
    public func readFileIfPresent(_ path: String) throws -> Data? {
        do {
            return try readFile(path)
        } catch let error as VMLabError
                    where error.message.contains("refused \(GuestFileOpen.command)") && error.message.contains("No such file or directory") {
            return nil
        }
    }

    /// Reads a whole file from the guest. A file longer than `maxBytes`, or one still not
    /// at its end after `timeout` (a pipe, a device), is an error: the guest decides what
    /// the file holds, so neither the host's memory nor the caller's wait is left to it.
    public func readFile(_ path: String, maxBytes: Int, timeout: Duration = GuestAgent.defaultReadTimeout) throws -> Data {
        let maxBytes = max(0, maxBytes)
        let deadline = ContinuousClock.now + timeout
        let handle = try call(GuestFileOpen(path: path, mode: "r"), timeoutSeconds: Self.transportTimeout(until: deadline)).value
        defer { _ = try? call(GuestFileClose(handle: handle)) }
        var data = Data()
        while true {
            guard ContinuousClock.now < deadline else {
                throw VMLabError(.timeout, "reading \(path) from '\(guest)' did not finish within \(shortNumber(timeout.seconds)) s "
                    + "(\(data.count) bytes read); it may be a pipe or device that never ends, or the guest is overloaded")
            }
            // One byte past the cap is enough to know the file is too large.
            let room = max(0, maxBytes - data.count)
            let count = room < Self.chunkBytes ? room + 1 : Self.chunkBytes
            let chunk = try call(GuestFileRead(handle: handle, count: count), timeoutSeconds: Self.transportTimeout(until: deadline))
            let bytes = try base64(chunk.bufB64, "the contents of \(path)", command: GuestFileRead.command)
            guard data.count + bytes.count <= maxBytes else {
                throw VMLabError(.failed, "\(path) in '\(guest)' is larger than \(maxBytes) bytes, the most vmlab reads "
                    + "through the guest agent; compress or split it in the guest and copy the parts")
            }
            data.append(bytes)
            if chunk.eof == true || bytes.isEmpty { return data }
        }
    }

    /// Whole seconds for one agent call that should end by `deadline` (libvirt takes
    /// seconds; at least 1, at most the usual 30).
    private static func transportTimeout(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = (deadline - ContinuousClock.now).seconds.rounded(.up)
        return Int32(min(30, max(1, left)))
    }

    /// Writes (replaces) a whole file in the guest.
    public func writeFile(_ path: String, contents: Data) throws {
        let handle = try call(GuestFileOpen(path: path, mode: "w")).value
        defer { _ = try? call(GuestFileClose(handle: handle)) }
        var offset = 0
        repeat {
            let chunk = contents[contents.startIndex + offset ..< contents.startIndex + min(offset + Self.writeChunkBytes, contents.count)]
            let written = try call(GuestFileWrite(handle: handle, bufB64: Data(chunk).base64EncodedString())).count
            // The count comes from the guest; one outside the chunk would move `offset` out of `contents`.
            guard (0...chunk.count).contains(written) else {
                throw VMLabError(.failed, "the guest agent of '\(guest)' claimed to write \(written) bytes of a "
                    + "\(chunk.count)-byte chunk of \(path); the agent in the guest is broken or was replaced")
            }
            guard written > 0 || chunk.isEmpty else {
                throw VMLabError(.failed, "writing \(path) in '\(guest)' stalled at byte \(offset)")
            }
            offset += written
        } while offset < contents.count
    }

    /// Writes a file as a lab puts one into a guest: its folder is made first (an image
    /// need not have /usr/local/bin or /etc/vmlab), and the blocking transfer runs off the
    /// cooperative pool.
    public func install(_ contents: Data, at path: String) async throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, folder != "/" {
            let made = try await exec(["mkdir", "-p", folder])
            guard made.exitCode == 0 else {
                throw VMLabError(.failed, "cannot create \(folder) in '\(guest)' for \(path): \(made.stderrText.suffix(300))")
            }
        }
        try await offPool { try self.writeFile(path, contents: contents) }
    }

    /// Base64 from the guest, decoded; text that is not base64 is a malformed reply.
    private func base64(_ text: String, _ what: String, command: String) throws -> Data {
        guard let data = Data(base64Encoded: text) else {
            throw VMLabError(.failed, "the guest agent of '\(guest)' sent \(what) in its reply to \(command) "
                + "that is not base64: \(Self.excerpt(text))")
        }
        return data
    }

    /// `call` on a dispatch thread: the agent answers within its timeout, but that can be
    /// seconds, too long to hold a thread of the cooperative pool.
    func callOffPool<Request: AgentRequest>(_ request: Request, timeoutSeconds: Int32 = 30) async throws -> Request.Reply {
        try await offPool { try self.call(request, timeoutSeconds: timeoutSeconds) }
    }

    /// Sends `{"execute": name, "arguments": {...}}` and decodes the `return` value.
    @discardableResult
    func call<Request: AgentRequest>(_ request: Request, timeoutSeconds: Int32 = 30) throws -> Request.Reply {
        let name = Request.command
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json: String
        do {
            let envelope = AgentEnvelope(execute: name, arguments: Request.hasArguments ? request : nil)
            json = String(decoding: try encoder.encode(envelope), as: UTF8.self)
        } catch {
            throw VMLabError(.invalidInput, "cannot encode \(name) for '\(guest)'", cause: error)
        }
        let replyText: String
        do {
            replyText = try transport.agentCommand(json, timeoutSeconds: timeoutSeconds)
        } catch {
            throw VMLabError(.unavailable, "the guest agent of '\(guest)' failed on \(name)", cause: error)
        }
        let size = replyText.utf8.count
        guard size <= Self.maxReplyBytes else {
            throw VMLabError(.failed, "the guest agent of '\(guest)' sent a reply to \(name) of \(size) bytes, "
                + "larger than the \(Self.maxReplyBytes) bytes vmlab accepts; the agent in the guest is broken or was replaced")
        }
        let reply: AgentReply<Request.Reply>
        do {
            reply = try JSONDecoder().decode(AgentReply<Request.Reply>.self, from: Data(replyText.utf8))
        } catch {
            throw VMLabError(.failed, "the guest agent of '\(guest)' sent a malformed reply to \(name) "
                + "(\(Self.explain(error))): \(Self.excerpt(replyText))")
        }
        if let failure = reply.error {
            let reason = failure.desc ?? failure.errorClass ?? "no reason given"
            throw VMLabError(.failed, "the guest agent of '\(guest)' refused \(name): \(Self.excerpt(reason))")
        }
        guard let value = reply.value else {
            // AgentReply decodes `return` whenever there is no error; this is unreachable.
            throw VMLabError(.failed, "the guest agent of '\(guest)' sent no return value for \(name)")
        }
        return value
    }

    /// At most 200 characters of guest text, control characters escaped, for a message
    /// that must not carry terminal escapes from the guest.
    static func excerpt(_ text: String) -> String {
        let head = text.unicodeScalars.prefix(200).map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }
        return head.joined() + (text.unicodeScalars.count > 200 ? "…" : "")
    }

    /// What was wrong with a reply, in the agent's field names (`no pid`, `exitcode has the
    /// wrong type`), without the envelope's `return`.
    static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        func path(_ keys: [any CodingKey]) -> String {
            keys.drop(while: { $0.stringValue == "return" }).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            let at = path(context.codingPath)
            return "no \(at.isEmpty ? key.stringValue : "\(at).\(key.stringValue)")"
        case let .typeMismatch(type, context):
            return "\(path(context.codingPath).isEmpty ? "the value" : path(context.codingPath)) has the wrong type (expected \(type))"
        case let .valueNotFound(type, context):
            return "\(path(context.codingPath).isEmpty ? "the value" : path(context.codingPath)) is null (expected \(type))"
        case let .dataCorrupted(context):
            let at = path(context.codingPath)
            return at.isEmpty ? context.debugDescription : "\(at): \(context.debugDescription)"
        @unknown default:
            return String(describing: error)
        }
    }
}
