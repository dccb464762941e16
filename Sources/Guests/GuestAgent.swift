import Foundation
import LabModel
import LabStore
import VMLabSupport

/// Sends one QEMU guest agent command (JSON) and returns the JSON reply. The real one goes
/// through libvirt; tests substitute a fake guest.
public protocol AgentTransport: Sendable {
    func agentCommand(_ json: String, timeoutSeconds: Int32) throws -> String
}

/// A client of the QEMU guest agent: runs programs and reads and writes files in a guest.
public struct GuestAgent: Sendable {
    public let guest: String
    let transport: any AgentTransport

    public init(guest: String, transport: any AgentTransport) {
        self.guest = guest
        self.transport = transport
    }

    /// Answers whether the agent responds right now.
    public func ping(timeoutSeconds: Int32 = 1) async -> Bool {
        (try? await callOffPool("guest-ping", [:], timeoutSeconds: timeoutSeconds)) != nil
    }

    /// Polls until the agent answers or `timeout` passes.
    public func waitUntilReady(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await ping() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw VMLabError(.timeout, "the guest agent of '\(guest)' did not answer within \(timeout.components.seconds) s; "
            + "see the boot messages with `vmlab console \(guest)`")
    }

    /// Runs `argv` in the guest (no shell), feeding `stdin`, and waits for it to exit.
    /// On `timeout` the process is killed and a `timeout` error is thrown.
    public func exec(_ argv: [String], stdin: Data? = nil, environment: [String: String] = [:],
                     timeout: Duration = .seconds(60)) async throws -> ExecResult {
        guard let path = argv.first else { throw VMLabError(.invalidInput, "no command given to run in '\(guest)'") }
        var args: [String: Any] = ["path": path, "arg": Array(argv.dropFirst()), "capture-output": true]
        if !environment.isEmpty {
            var env = environment
            if env["PATH"] == nil { env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
            args["env"] = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        }
        if let stdin { args["input-data"] = stdin.base64EncodedString() }
        let started = try await callOffPool("guest-exec", args)
        guard let pid = started["pid"] as? Int else {
            throw VMLabError(.failed, "the agent of '\(guest)' started \(path) but returned no pid")
        }
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(5)
        while true {
            let status = try await callOffPool("guest-exec-status", ["pid": pid])
            if status["exited"] as? Bool == true {
                return ExecResult(
                    exitCode: Int32(status["exitcode"] as? Int ?? (status["signal"] != nil ? 128 + (status["signal"] as? Int ?? 0) : -1)),
                    signal: (status["signal"] as? Int).map(Int32.init),
                    stdout: Data(base64Encoded: status["out-data"] as? String ?? "") ?? Data(),
                    stderr: Data(base64Encoded: status["err-data"] as? String ?? "") ?? Data())
            }
            if ContinuousClock.now >= deadline {
                _ = try? call("guest-exec", ["path": "kill", "arg": ["-KILL", "\(pid)"]])
                throw VMLabError(.timeout, "`\(argv.joined(separator: " "))` in '\(guest)' did not finish within \(timeout.components.seconds) s and was killed")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(100))
        }
    }

    /// Runs a shell command line (`sh -c`).
    public func shell(_ command: String, timeout: Duration = .seconds(60)) async throws -> ExecResult {
        try await exec(["/bin/sh", "-c", command], timeout: timeout)
    }

    /// Reads a whole file from the guest.
    public func readFile(_ path: String) throws -> Data {
        let handle = try open(path, mode: "r")
        defer { _ = try? call("guest-file-close", ["handle": handle]) }
        var data = Data()
        while true {
            let chunk = try call("guest-file-read", ["handle": handle, "count": 1 << 20])
            if let b64 = chunk["buf-b64"] as? String, let bytes = Data(base64Encoded: b64) { data.append(bytes) }
            if chunk["eof"] as? Bool == true || (chunk["count"] as? Int ?? 0) == 0 { return data }
        }
    }

    /// Writes (replaces) a whole file in the guest.
    public func writeFile(_ path: String, contents: Data) throws {
        let handle = try open(path, mode: "w")
        defer { _ = try? call("guest-file-close", ["handle": handle]) }
        var offset = 0
        repeat {
            let chunk = contents[contents.startIndex + offset ..< contents.startIndex + min(offset + (1 << 20), contents.count)]
            let reply = try call("guest-file-write", ["handle": handle, "buf-b64": Data(chunk).base64EncodedString()])
            let written = reply["count"] as? Int ?? 0
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

    private func open(_ path: String, mode: String) throws -> Int {
        let reply = try call("guest-file-open", ["path": path, "mode": mode])
        guard let handle = reply["_value"] as? Int else {
            throw VMLabError(.failed, "the agent of '\(guest)' returned no handle for \(path)")
        }
        return handle
    }

    /// `call` on a dispatch thread: the agent answers within its timeout, but that can be
    /// seconds, too long to hold a thread of the cooperative pool.
    func callOffPool(_ name: String, _ arguments: [String: Any], timeoutSeconds: Int32 = 30) async throws -> [String: Any] {
        let request = UncheckedBox(value: arguments)
        return try await offPool { UncheckedBox(value: try self.call(name, request.value, timeoutSeconds: timeoutSeconds)) }.value
    }

    /// Sends `{"execute": name, "arguments": args}` and returns the `return` object (a
    /// scalar return comes back under the key `_value`).
    @discardableResult
    func call(_ name: String, _ arguments: [String: Any], timeoutSeconds: Int32 = 30) throws -> [String: Any] {
        var request: [String: Any] = ["execute": name]
        if !arguments.isEmpty { request["arguments"] = arguments }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let replyText: String
        do {
            replyText = try transport.agentCommand(json, timeoutSeconds: timeoutSeconds)
        } catch {
            throw VMLabError(.unavailable, "the guest agent of '\(guest)' failed on \(name)", cause: error)
        }
        guard let reply = try? JSONSerialization.jsonObject(with: Data(replyText.utf8)) as? [String: Any] else {
            throw VMLabError(.failed, "the guest agent of '\(guest)' sent an unreadable reply to \(name): \(replyText.prefix(200))")
        }
        if let error = reply["error"] as? [String: Any] {
            throw VMLabError(.failed, "the guest agent of '\(guest)' refused \(name): \(error["desc"] as? String ?? "\(error)")")
        }
        switch reply["return"] {
        case let object as [String: Any]: return object
        case let value?: return ["_value": value]
        case nil: return [:]
        }
    }
}
