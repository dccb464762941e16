import Foundation
@testable import Guests
@testable import LabModel
@testable import LabStore
import Testing
@testable import VMLabSupport

/// A scripted guest agent: records every JSON request and answers with per-command closures.
final class FakeAgent: AgentTransport, @unchecked Sendable {
    struct Request {
        let execute: String
        let arguments: [String: Any]
        let timeoutSeconds: Int32
        /// The text as sent, for checks of the envelope itself.
        let json: String
    }

    /// Returns the reply text for (arguments, index of this call among calls of the same command).
    typealias Responder = ([String: Any], Int) throws -> String

    private let lock = NSLock()
    private var log: [Request] = []
    private var responders: [String: Responder] = [:]
    /// What the fake's domain state says (nil: running).
    var stopped: String?

    func notRunningReason() throws -> String? { lock.withLock { stopped } }

    func on(_ command: String, _ responder: @escaping Responder) {
        lock.withLock { responders[command] = responder }
    }

    /// Replies `{"return": value}` to `command`.
    func reply(_ command: String, _ json: String) {
        on(command) { _, _ in #"{"return": \#(json)}"# }
    }

    var requests: [Request] { lock.withLock { log } }

    func requests(_ command: String) -> [Request] { requests.filter { $0.execute == command } }

    func agentCommand(_ json: String, timeoutSeconds: Int32) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        let execute = object["execute"] as? String ?? "?"
        let arguments = object["arguments"] as? [String: Any] ?? [:]
        let (responder, index): (Responder?, Int) = lock.withLock {
            let index = log.filter { $0.execute == execute }.count
            log.append(Request(execute: execute, arguments: arguments, timeoutSeconds: timeoutSeconds, json: json))
            return (responders[execute], index)
        }
        guard let responder else { throw FakeTransportError(message: "no script for \(execute)") }
        return try responder(arguments, index)
    }
}

struct FakeTransportError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Guards the guest agent client: the QGA requests it sends and how it reads the replies, errors and timeouts.
@Suite("GuestAgent")
struct GuestAgentTests {
    let fake = FakeAgent()
    var agent: GuestAgent { GuestAgent(guest: "web", transport: fake) }

    func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    /// A guest-exec that starts pid 42 and exits at once with `status` (a JSON object body).
    func scriptExec(status: String = #""exited": true, "exitcode": 0"#) {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", "{\(status)}")
    }

    // MARK: exec

    /// What every exec runs its program under: each stream through `head -c`, one byte past the cap.
    static let capScript = #"set -o pipefail; { { "$@" 2>&1 1>&3 3>&-; } | head -c 1048577 1>&2; } 3>&1 | head -c 1048577"#

    /// A guest that writes past the cap (a hostile or chatty one) gets the cap and a flag,
    /// never more: the wrapper hands back one byte over, and the host cuts and marks it.
    @Test func outputPastTheCapIsCutAndMarked() async throws {
        let over = Data(repeating: 0x61, count: GuestAgent.maxOutputBytes + 1).base64EncodedString()
        scriptExec(status: #""exited": true, "exitcode": 141, "out-data": "\#(over)", "err-data": "ZXJy""#)
        let result = try await agent.exec(["cat", "/dev/zero"])
        #expect(result.stdout.count == GuestAgent.maxOutputBytes)
        #expect(result.stderr == Data("err".utf8))
        #expect(result.truncated)
        scriptExec(status: #""exited": true, "exitcode": 0, "out-data": "b2s=""#)
        #expect(try await agent.exec(["echo", "ok"]).truncated == false)
    }

    @Test func execSendsPathArgumentsAndCaptureOutput() async throws {
        scriptExec()
        _ = try await agent.exec(["/bin/ls", "-l", "/tmp"])
        let start = try #require(fake.requests("guest-exec").first)
        #expect(start.arguments["path"] as? String == "bash")
        #expect(start.arguments["arg"] as? [String] == ["-c", Self.capScript, "vmlab-exec", "/bin/ls", "-l", "/tmp"])
        #expect(start.arguments["capture-output"] as? Bool == true)
        #expect(start.arguments["input-data"] == nil)
        #expect(start.arguments["env"] == nil)
        #expect(fake.requests.first?.execute == "guest-exec")
    }

    @Test func execSendsStdinAsBase64() async throws {
        scriptExec()
        _ = try await agent.exec(["/bin/cat"], stdin: Data("hello\n".utf8))
        let start = try #require(fake.requests("guest-exec").first)
        #expect(start.arguments["input-data"] as? String == b64("hello\n"))
    }

    /// Input past what one request safely carries is written as a file in chunks, and the
    /// command reads it as stdin through a shell that removes the file first.
    @Test func largeStdinGoesInAsAFile() async throws {
        scriptExec()
        fake.reply("guest-file-open", "7")
        fake.on("guest-file-write") { arguments, _ in
            let count = Data(base64Encoded: arguments["buf-b64"] as? String ?? "")?.count ?? 0
            return #"{"return": {"count": \#(count), "eof": false}}"#
        }
        fake.reply("guest-file-close", "{}")
        let input = Data(repeating: 0x78, count: GuestAgent.maxInlineStdinBytes + 1)
        _ = try await agent.exec(["wc", "-c"], stdin: input)
        let open = try #require(fake.requests("guest-file-open").first)
        let path = try #require(open.arguments["path"] as? String)
        #expect(path.hasPrefix("/tmp/vmlab-stdin-"))
        let written = fake.requests("guest-file-write").compactMap { Data(base64Encoded: $0.arguments["buf-b64"] as? String ?? "") }
        #expect(written.reduce(Data(), +) == input)
        let start = try #require(fake.requests("guest-exec").first)
        #expect(start.arguments["input-data"] == nil)
        #expect(start.arguments["arg"] as? [String] == ["-c", Self.capScript, "vmlab-exec", "sh", "-c",
                                                        "exec 0<'\(path)' && rm -f '\(path)' && exec \"$@\"", "vmlab-stdin", "wc", "-c"])
        // Exactly the inline limit still rides in the request.
        let small = FakeAgent()
        small.reply("guest-exec", #"{"pid": 42}"#)
        small.reply("guest-exec-status", #"{"exited": true, "exitcode": 0}"#)
        let inline = Data(repeating: 0x78, count: GuestAgent.maxInlineStdinBytes)
        _ = try await GuestAgent(guest: "web", transport: small).exec(["wc", "-c"], stdin: inline)
        #expect(small.requests("guest-exec").first?.arguments["input-data"] as? String == inline.base64EncodedString())
        #expect(small.requests("guest-file-open").isEmpty)
    }

    /// A command in a session of its own keeps setsid first, so its process group is still the one killed.
    @Test func largeStdinKeepsSetsidFirst() {
        let argv = GuestAgent.stdinFromFile(["setsid", "-w", "sh", "-c", "x"], path: "/tmp/vmlab-stdin-1", ownProcessGroup: true)
        #expect(Array(argv.prefix(3)) == ["setsid", "-w", "sh"])
        #expect(Array(argv.suffix(3)) == ["sh", "-c", "x"])
    }

    @Test func execEnvironmentGetsADefaultPath() async throws {
        scriptExec()
        _ = try await agent.exec(["/usr/bin/env"], environment: ["LANG": "C", "FOO": "bar=baz"])
        let env = try #require(fake.requests("guest-exec").first?.arguments["env"] as? [String])
        #expect(env == ["FOO=bar=baz", "LANG=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    @Test func execEnvironmentKeepsAGivenPath() async throws {
        scriptExec()
        _ = try await agent.exec(["/usr/bin/env"], environment: ["PATH": "/opt/bin"])
        let env = try #require(fake.requests("guest-exec").first?.arguments["env"] as? [String])
        #expect(env == ["PATH=/opt/bin"])
    }

    @Test func execPollsStatusUntilExited() async throws {
        fake.reply("guest-exec", #"{"pid": 4242}"#)
        fake.on("guest-exec-status") { _, index in
            index < 3 ? #"{"return": {"exited": false}}"# : #"{"return": {"exited": true, "exitcode": 0}}"#
        }
        let result = try await agent.exec(["/bin/true"])
        #expect(result.exitCode == 0)
        let polls = fake.requests("guest-exec-status")
        #expect(polls.count == 4)
        #expect(polls.allSatisfy { $0.arguments["pid"] as? Int == 4242 })
        #expect(fake.requests("guest-exec").count == 1)
    }

    @Test func execDecodesOutputErrorsAndExitCode() async throws {
        scriptExec(status: #""exited": true, "exitcode": 3, "out-data": "\#(b64("out\n"))", "err-data": "\#(b64("err\n"))""#)
        let result = try await agent.exec(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(result.exitCode == 3)
        #expect(result.signal == nil)
        #expect(result.stdout == Data("out\n".utf8))
        #expect(result.stderrText == "err\n")
        #expect(result.stdoutText == "out\n")
    }

    @Test func execWithoutOutputHasEmptyData() async throws {
        scriptExec()
        let result = try await agent.exec(["/bin/true"])
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.isEmpty)
    }

    @Test func execKilledBySignal() async throws {
        scriptExec(status: #""exited": true, "signal": 9"#)
        let result = try await agent.exec(["/bin/sleep", "100"])
        #expect(result.signal == 9)
        #expect(result.exitCode == 128 + 9)
    }

    @Test func execTimeoutKillsTheProcess() async throws {
        fake.reply("guest-exec", #"{"pid": 77}"#)
        fake.reply("guest-exec-status", #"{"exited": false}"#)
        let started = ContinuousClock.now
        let error = await #expect(throws: VMLabError.self) {
            _ = try await agent.exec(["/bin/sleep", "100"], timeout: .milliseconds(200))
        }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("/bin/sleep 100") == true)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        let execs = fake.requests("guest-exec")
        #expect(execs.count == 2)
        let kill = try #require(execs.last)
        #expect(kill.arguments["path"] as? String == "kill")
        #expect(kill.arguments["arg"] as? [String] == ["-KILL", "77"])
        // How many polls fit in 200 ms depends on the machine's load; what must hold is
        // that the process was still polled (not killed blind) before the kill.
        #expect(fake.requests("guest-exec-status").count >= 1)
        #expect(fake.requests.last?.execute == "guest-exec")
    }

    @Test func agentErrorReplyIsFailedWithItsDescription() async throws {
        fake.on("guest-exec") { _, _ in #"{"error":{"class":"GenericError","desc":"boom"}}"# }
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/nope"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("boom") == true)
        #expect(error?.message.contains("guest-exec") == true)
        #expect(fake.requests("guest-exec-status").isEmpty)
    }

    @Test func transportFailureIsUnavailableWithCause() async throws {
        fake.on("guest-exec") { _, _ in throw FakeTransportError(message: "agent socket closed") }
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.code == .unavailable)
        #expect(error?.cause == "agent socket closed")
        #expect(error?.description.contains("agent socket closed") == true)
    }

    @Test func unreadableReplyIsFailed() async throws {
        fake.on("guest-exec") { _, _ in "this is not json" }
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("this is not json") == true)
    }

    @Test func replyWithoutPidIsFailed() async throws {
        fake.reply("guest-exec", "{}")
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("no pid") == true)
    }

    @Test func emptyCommandIsInvalidInputAndSendsNothing() async throws {
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec([]) }
        #expect(error?.code == .invalidInput)
        #expect(fake.requests.isEmpty)
    }

    @Test func shellRunsShDashCInASessionOfItsOwn() async throws {
        scriptExec()
        _ = try await agent.shell("echo hi | wc -c")
        let start = try #require(fake.requests("guest-exec").first)
        #expect(start.arguments["path"] as? String == "setsid")
        #expect(start.arguments["arg"] as? [String]
                == ["-w", "bash", "-c", Self.capScript, "vmlab-exec", "/bin/sh", "-c", "echo hi | wc -c"])
    }

    @Test func aShellTimeoutKillsTheWholeProcessGroup() async throws {
        fake.reply("guest-exec", #"{"pid": 77}"#)
        fake.reply("guest-exec-status", #"{"exited": false}"#)
        await #expect(throws: VMLabError.self) { _ = try await agent.shell("sleep 100 & sleep 100", timeout: .milliseconds(200)) }
        let kill = try #require(fake.requests("guest-exec").last)
        #expect(kill.arguments["path"] as? String == "kill")
        #expect(kill.arguments["arg"] as? [String] == ["-KILL", "--", "-77", "77"])
    }

    // MARK: ping and readiness

    @Test func pingTrueWhenTheAgentAnswers() async {
        fake.reply("guest-ping", "{}")
        #expect(await agent.ping(timeoutSeconds: 2))
        let request = fake.requests.first
        #expect(request?.execute == "guest-ping")
        #expect(request?.timeoutSeconds == 2)
        #expect(request?.arguments.isEmpty == true)
    }

    @Test func pingFalseOnErrorReply() async {
        fake.on("guest-ping") { _, _ in #"{"error":{"class":"GenericError","desc":"not yet"}}"# }
        #expect(!(await agent.ping()))
    }

    @Test func pingFalseWhenTransportThrows() async {
        fake.on("guest-ping") { _, _ in throw FakeTransportError(message: "no agent") }
        #expect(!(await agent.ping()))
    }

    @Test func waitingForTheAgentOfAStoppedGuestEndsAtOnceNamingTheState() async throws {
        fake.on("guest-ping") { _, _ in throw FakeTransportError(message: "agent not connected") }
        fake.stopped = "crashed"
        let started = ContinuousClock.now
        let error = await #expect(throws: VMLabError.self) { try await agent.waitUntilReady(timeout: .seconds(300)) }
        #expect(error?.message.contains("is crashed, so its guest agent cannot answer") == true)
        #expect(ContinuousClock.now - started < .seconds(60), "the wait did not run out its 300 s timeout")
    }

    @Test func waitUntilReadySucceedsAfterFailedPings() async throws {
        fake.on("guest-ping") { _, index in
            if index < 3 { throw FakeTransportError(message: "not yet") }
            return #"{"return": {}}"#
        }
        // Generous: on a 2-core runner other suites can hold the cooperative pool for seconds.
        try await agent.waitUntilReady(timeout: .seconds(120))
        #expect(fake.requests("guest-ping").count == 4)
    }

    @Test func waitUntilReadyTimesOut() async throws {
        fake.on("guest-ping") { _, _ in throw FakeTransportError(message: "not yet") }
        let started = ContinuousClock.now
        let error = await #expect(throws: VMLabError.self) { try await agent.waitUntilReady(timeout: .milliseconds(300)) }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("vmlab console web") == true)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(120), "it gives up instead of waiting forever")
        #expect(fake.requests("guest-ping").count >= 1)
    }

    // MARK: files

    @Test func readFileConcatenatesChunksUntilEOF() throws {
        fake.reply("guest-file-open", "1000")
        fake.on("guest-file-read") { _, index in
            let chunks = [("hello ", false), ("big ", false), ("world", true)]
            let (text, eof) = chunks[index]
            return #"{"return": {"count": \#(text.utf8.count), "buf-b64": "\#(Data(text.utf8).base64EncodedString())", "eof": \#(eof)}}"#
        }
        fake.reply("guest-file-close", "{}")
        let data = try agent.readFile("/etc/hostname")
        #expect(String(decoding: data, as: UTF8.self) == "hello big world")
        let open = try #require(fake.requests("guest-file-open").first)
        #expect(open.arguments["path"] as? String == "/etc/hostname")
        #expect(open.arguments["mode"] as? String == "r")
        let reads = fake.requests("guest-file-read")
        #expect(reads.count == 3)
        #expect(reads.allSatisfy { $0.arguments["handle"] as? Int == 1000 && $0.arguments["count"] as? Int == 1 << 20 })
        let close = fake.requests("guest-file-close")
        #expect(close.count == 1)
        #expect(close.first?.arguments["handle"] as? Int == 1000)
        #expect(fake.requests.last?.execute == "guest-file-close")
    }

    @Test func readFileStopsOnAnEmptyRead() throws {
        fake.reply("guest-file-open", "7")
        fake.on("guest-file-read") { _, index in
            index == 0 ? #"{"return": {"count": 2, "buf-b64": "aGk=", "eof": false}}"# : #"{"return": {"count": 0, "buf-b64": ""}}"#
        }
        fake.reply("guest-file-close", "{}")
        #expect(try agent.readFile("/x") == Data("hi".utf8))
        #expect(fake.requests("guest-file-read").count == 2)
    }

    @Test func readFileOfAMissingFileFailsWithoutClosing() throws {
        fake.on("guest-file-open") { _, _ in #"{"error":{"class":"GenericError","desc":"No such file or directory"}}"# }
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/nope") }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("No such file") == true)
        #expect(fake.requests("guest-file-close").isEmpty)
    }

    @Test func readFileClosesTheHandleWhenAReadFails() throws {
        fake.reply("guest-file-open", "5")
        fake.on("guest-file-read") { _, _ in throw FakeTransportError(message: "gone") }
        fake.reply("guest-file-close", "{}")
        #expect(throws: VMLabError.self) { _ = try agent.readFile("/x") }
        #expect(fake.requests("guest-file-close").first?.arguments["handle"] as? Int == 5)
    }

    /// Accepts at most `limit` bytes per guest-file-write and collects what was written.
    final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes = Data()
        var data: Data { lock.withLock { bytes } }
        func take(_ args: [String: Any], limit: Int) -> String {
            let chunk = Data(base64Encoded: args["buf-b64"] as? String ?? "") ?? Data()
            let n = min(limit, chunk.count)
            lock.withLock { bytes.append(chunk.prefix(n)) }
            return #"{"return": {"count": \#(n), "eof": false}}"#
        }
    }

    @Test func installMakesTheFolderFirst() async throws {
        scriptExec()
        let sink = Sink()
        fake.reply("guest-file-open", "9")
        fake.on("guest-file-write") { args, _ in sink.take(args, limit: .max) }
        fake.reply("guest-file-close", "{}")
        try await agent.install(Data("#!/bin/sh\n".utf8), at: "/usr/local/bin/ws")
        let mkdir = try #require(fake.requests("guest-exec").first)
        #expect(mkdir.arguments["arg"] as? [String] == ["-c", Self.capScript, "vmlab-exec", "mkdir", "-p", "/usr/local/bin"])
        #expect(fake.requests.map(\.execute) == ["guest-exec", "guest-exec-status", "guest-file-open", "guest-file-write", "guest-file-close"])
        #expect(sink.data == Data("#!/bin/sh\n".utf8))
    }

    @Test func installStopsWhenTheFolderCannotBeMade() async throws {
        scriptExec(status: #""exited": true, "exitcode": 1, "err-data": "\#(b64("mkdir: Read-only file system"))""#)
        let error = await #expect(throws: VMLabError.self) { try await agent.install(Data("x".utf8), at: "/ro/x") }
        #expect(error?.message.contains("cannot create /ro in 'web' for /ro/x: mkdir: Read-only file system") == true)
        #expect(fake.requests("guest-file-open").isEmpty)
    }

    @Test func writeFileSendsBase64AndCloses() throws {
        let sink = Sink()
        fake.reply("guest-file-open", "9")
        fake.on("guest-file-write") { args, _ in sink.take(args, limit: .max) }
        fake.reply("guest-file-close", "{}")
        try agent.writeFile("/etc/motd", contents: Data("welcome\n".utf8))
        let open = try #require(fake.requests("guest-file-open").first)
        #expect(open.arguments["mode"] as? String == "w")
        #expect(open.arguments["path"] as? String == "/etc/motd")
        let writes = fake.requests("guest-file-write")
        #expect(writes.count == 1)
        #expect(writes.first?.arguments["buf-b64"] as? String == b64("welcome\n"))
        #expect(writes.first?.arguments["handle"] as? Int == 9)
        #expect(sink.data == Data("welcome\n".utf8))
        #expect(fake.requests.map(\.execute) == ["guest-file-open", "guest-file-write", "guest-file-close"])
    }

    @Test func writeFileSplitsLargeContentsIntoChunks() throws {
        let contents = Data((0..<(2 * (1 << 20) + 12345)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let sink = Sink()
        fake.reply("guest-file-open", "9")
        fake.on("guest-file-write") { args, _ in sink.take(args, limit: .max) }
        fake.reply("guest-file-close", "{}")
        try agent.writeFile("/big", contents: contents)
        let sizes = fake.requests("guest-file-write").map { Data(base64Encoded: $0.arguments["buf-b64"] as! String)!.count }
        let whole = contents.count / GuestAgent.writeChunkBytes
        #expect(GuestAgent.writeChunkBytes <= 64 << 10, "a write request of about 150 KB made the agent unavailable")
        #expect(sizes == Array(repeating: GuestAgent.writeChunkBytes, count: whole) + [contents.count - whole * GuestAgent.writeChunkBytes])
        #expect(sink.data == contents)
        #expect(fake.requests("guest-file-close").count == 1)
    }

    @Test func writeFileResumesAfterShortWrites() throws {
        let contents = Data((0..<2500).map { UInt8(truncatingIfNeeded: $0) })
        let sink = Sink()
        fake.reply("guest-file-open", "9")
        fake.on("guest-file-write") { args, _ in sink.take(args, limit: 1000) }
        fake.reply("guest-file-close", "{}")
        try agent.writeFile("/f", contents: contents)
        #expect(fake.requests("guest-file-write").count == 3)
        #expect(sink.data == contents)
    }

    @Test func writeFileOfEmptyContentsStillOpensAndCloses() throws {
        fake.reply("guest-file-open", "9")
        fake.reply("guest-file-write", #"{"count": 0}"#)
        fake.reply("guest-file-close", "{}")
        try agent.writeFile("/empty", contents: Data())
        #expect(fake.requests.map(\.execute) == ["guest-file-open", "guest-file-write", "guest-file-close"])
    }

    @Test func writeFileThatStallsFailsAndCloses() throws {
        fake.reply("guest-file-open", "9")
        fake.reply("guest-file-write", #"{"count": 0}"#)
        fake.reply("guest-file-close", "{}")
        let error = #expect(throws: VMLabError.self) { try agent.writeFile("/f", contents: Data("abc".utf8)) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("stalled") == true)
        #expect(fake.requests("guest-file-close").count == 1)
    }

    // MARK: a hostile guest

    @Test func truncatedOutputIsReported() async throws {
        for (flags, truncated) in [("", false), (#", "out-truncated": true"#, true), (#", "err-truncated": true"#, true),
                                   (#", "out-truncated": false, "err-truncated": false"#, false)] {
            scriptExec(status: #""exited": true, "exitcode": 0\#(flags)"#)
            let result = try await agent.exec(["/bin/yes"])
            #expect(result.truncated == truncated, "flags: \(flags)")
        }
    }

    /// One 1 MiB chunk as qemu-ga sends it, never at the end: /dev/zero.
    static let endlessChunk = #"{"return": {"count": \#(1 << 20), "buf-b64": "\#(Data(count: 1 << 20).base64EncodedString())", "eof": false}}"#

    @Test func readFileOfAnEndlessFileStopsAtTheDefaultCap() throws {
        fake.reply("guest-file-open", "3")
        fake.on("guest-file-read") { _, _ in Self.endlessChunk }
        fake.reply("guest-file-close", "{}")
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/dev/zero") }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("/dev/zero in 'web' is larger than \(GuestAgent.defaultMaxFileBytes) bytes") == true)
        // 16 reads fill the cap; the 17th shows there is more. Not one read past that.
        #expect(fake.requests("guest-file-read").count == GuestAgent.defaultMaxFileBytes / (1 << 20) + 1)
        #expect(fake.requests("guest-file-close").first?.arguments["handle"] as? Int == 3)
    }

    @Test func readFileAsksOnlyForWhatFitsUnderTheCap() throws {
        fake.reply("guest-file-open", "3")
        fake.on("guest-file-read") { _, _ in Self.endlessChunk }
        fake.reply("guest-file-close", "{}")
        #expect(throws: VMLabError.self) { _ = try agent.readFile("/dev/zero", maxBytes: 2 * (1 << 20) + 10) }
        // The guest ignores the asked count; the cap holds anyway.
        #expect(fake.requests("guest-file-read").map { $0.arguments["count"] as? Int } == [1 << 20, 1 << 20, 11])
    }

    @Test func readFileOfExactlyTheCapSucceeds() throws {
        fake.reply("guest-file-open", "3")
        fake.on("guest-file-read") { _, index in
            index % 2 == 0 ? #"{"return": {"count": 5, "buf-b64": "\#(self.b64("hello"))", "eof": false}}"#
                : #"{"return": {"count": 0, "buf-b64": "", "eof": true}}"#
        }
        fake.reply("guest-file-close", "{}")
        #expect(try agent.readFile("/f", maxBytes: 5) == Data("hello".utf8))
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/f", maxBytes: 4) }
        #expect(error?.message.contains("larger than 4 bytes") == true)
    }

    /// Off the cooperative pool, as callers run it: the fake guest below sleeps.
    @Test func readFileGivesUpAtItsDeadline() async throws {
        fake.reply("guest-file-open", "4")
        // Ends after 50 reads (10 s) only so that a reader ignoring its deadline fails this test instead of hanging it.
        fake.on("guest-file-read") { _, index in
            Thread.sleep(forTimeInterval: 0.2)
            return #"{"return": {"count": 1, "buf-b64": "eA==", "eof": \#(index >= 50)}}"#
        }
        fake.reply("guest-file-close", "{}")
        let agent = self.agent
        // Timed inside the worker: waiting for a free pool thread (other tests run at once)
        // is not the reader's time.
        let outcome = try await offPool { () -> (Duration, (any Error)?) in
            let started = ContinuousClock.now
            do {
                _ = try agent.readFile("/dev/ttyS0", maxBytes: 1 << 20, timeout: .milliseconds(300))
                return (ContinuousClock.now - started, nil)
            } catch {
                return (ContinuousClock.now - started, error)
            }
        }
        let elapsed = outcome.0
        let error = outcome.1 as? VMLabError
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("reading /dev/ttyS0 from 'web' did not finish within 0.3 s") == true)
        #expect(elapsed >= .milliseconds(300))
        // Each read takes 0.2 s, so the deadline is noticed after the second on an idle machine;
        // the bounds are loose for a loaded one.
        #expect(elapsed < .seconds(8))
        #expect((2..<40).contains(fake.requests("guest-file-read").count))
        // One agent call may not outlast the deadline by more than libvirt's one-second grain.
        #expect(fake.requests("guest-file-read").allSatisfy { $0.timeoutSeconds == 1 })
        #expect(fake.requests("guest-file-close").count == 1)
    }

    @Test func writeFileRejectsACountLargerThanTheChunk() throws {
        fake.reply("guest-file-open", "9")
        fake.reply("guest-file-write", #"{"count": 1000}"#)
        fake.reply("guest-file-close", "{}")
        let error = #expect(throws: VMLabError.self) { try agent.writeFile("/f", contents: Data("abc".utf8)) }
        #expect(error?.message.contains("claimed to write 1000 bytes of a 3-byte chunk of /f") == true)
        #expect(fake.requests("guest-file-close").count == 1)
    }

    @Test func writeFileRejectsANegativeCount() throws {
        fake.reply("guest-file-open", "9")
        fake.reply("guest-file-write", #"{"count": -5}"#)
        fake.reply("guest-file-close", "{}")
        let error = #expect(throws: VMLabError.self) { try agent.writeFile("/f", contents: Data("abc".utf8)) }
        #expect(error?.message.contains("claimed to write -5 bytes") == true)
        #expect(fake.requests("guest-file-write").count == 1)
    }

    @Test func openWithoutHandleIsFailed() throws {
        fake.reply("guest-file-open", "{}")
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/x") }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("no handle") == true)
    }
}
