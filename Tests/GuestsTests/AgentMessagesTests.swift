import Foundation
@testable import Guests
import Testing
@testable import VMLabSupport

/// Guards the wire format of the guest agent messages: the JSON each command sends (read
/// back from what the fake transport received) and how replies that are not what qemu-ga
/// sends are reported.
@Suite("AgentMessages")
struct AgentMessagesTests {
    let fake = FakeAgent()
    var agent: GuestAgent { GuestAgent(guest: "web", transport: fake) }

    /// The JSON object `text`, with its keys sorted, so two objects compare as text.
    func canonical(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The top-level object of a request as sent.
    func envelope(_ request: FakeAgent.Request) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(request.json.utf8)) as? [String: Any])
    }

    /// `request` is `{"execute": command, "arguments": arguments}` and nothing else.
    func expectRequest(_ request: FakeAgent.Request?, _ command: String, _ arguments: [String: Any],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let request = try #require(request, sourceLocation: sourceLocation)
        let object = try envelope(request)
        #expect(Set(object.keys) == ["execute", "arguments"], sourceLocation: sourceLocation)
        #expect(object["execute"] as? String == command, sourceLocation: sourceLocation)
        let sent = try #require(object["arguments"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(try canonical(sent) == canonical(arguments), sourceLocation: sourceLocation)
    }

    func scriptFile(handle: Int = 12) {
        fake.reply("guest-file-open", "\(handle)")
        fake.reply("guest-file-read", #"{"count": 2, "buf-b64": "aGk=", "eof": true}"#)
        fake.reply("guest-file-write", #"{"count": 2, "eof": false}"#)
        fake.reply("guest-file-close", "{}")
    }

    // MARK: requests

    @Test func pingSendsNoArgumentsKey() async throws {
        fake.reply("guest-ping", "{}")
        #expect(await agent.ping())
        let object = try envelope(try #require(fake.requests.first))
        #expect(Set(object.keys) == ["execute"])
        #expect(object["execute"] as? String == "guest-ping")
    }

    @Test func execRequestHasExactlyTheGivenFields() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": 0}"#)
        _ = try await agent.exec(["/bin/cat", "-n"], stdin: Data("hi\n".utf8), environment: ["LANG": "C"])
        try expectRequest(fake.requests("guest-exec").first, "guest-exec", [
            "path": "bash", "arg": ["-c", GuestAgentTests.capScript, "vmlab-exec", "/bin/cat", "-n"], "capture-output": true,
            "env": ["LANG=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "input-data": Data("hi\n".utf8).base64EncodedString(),
        ])
        try expectRequest(fake.requests("guest-exec-status").first, "guest-exec-status", ["pid": 42])
    }

    @Test func execWithoutStdinOrEnvironmentLeavesThoseKeysOut() async throws {
        fake.reply("guest-exec", #"{"pid": 7}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": 0}"#)
        _ = try await agent.exec(["/bin/true"])
        try expectRequest(fake.requests("guest-exec").first, "guest-exec", [
            "path": "bash", "arg": ["-c", GuestAgentTests.capScript, "vmlab-exec", "/bin/true"], "capture-output": true,
        ])
    }

    @Test func killAfterATimeoutDoesNotCaptureOutput() async throws {
        fake.reply("guest-exec", #"{"pid": 77}"#)
        fake.reply("guest-exec-status", #"{"exited": false}"#)
        await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/sleep", "9"], timeout: .milliseconds(50)) }
        try expectRequest(fake.requests("guest-exec").last, "guest-exec", ["path": "kill", "arg": ["-KILL", "77"]])
    }

    @Test func fileRequestsHaveExactlyTheirFields() throws {
        scriptFile(handle: 12)
        _ = try agent.readFile("/etc/hostname")
        try expectRequest(fake.requests("guest-file-open").first, "guest-file-open", ["path": "/etc/hostname", "mode": "r"])
        try expectRequest(fake.requests("guest-file-read").first, "guest-file-read", ["handle": 12, "count": 1 << 20])
        try expectRequest(fake.requests("guest-file-close").first, "guest-file-close", ["handle": 12])

        try agent.writeFile("/etc/motd", contents: Data("hi".utf8))
        try expectRequest(fake.requests("guest-file-open").last, "guest-file-open", ["path": "/etc/motd", "mode": "w"])
        try expectRequest(fake.requests("guest-file-write").first, "guest-file-write", ["handle": 12, "buf-b64": "aGk="])
    }

    @Test func slashesAreSentUnescaped() throws {
        scriptFile()
        _ = try agent.readFile("/etc/hostname")
        #expect(fake.requests("guest-file-open").first?.json.contains(#""/etc/hostname""#) == true)
    }

    // MARK: replies

    @Test func replyThatIsNotJSONNamesTheGuestAndCommand() async throws {
        fake.on("guest-exec-status") { _, _ in "<html>502</html>" }
        fake.reply("guest-exec", #"{"pid": 1}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("'web'") == true)
        #expect(error?.message.contains("malformed reply to guest-exec-status") == true)
        #expect(error?.message.contains("<html>502</html>") == true)
    }

    @Test func errorObjectIsARefusalWithItsDescription() throws {
        fake.on("guest-file-open") { _, _ in #"{"error": {"class": "GenericError", "desc": "Permission denied"}}"# }
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/root/secret") }
        #expect(error?.code == .failed)
        #expect(error?.message == "the guest agent of 'web' refused guest-file-open: Permission denied")
    }

    /// Only "no such file" makes an artifact absent; any other failure is an error, so a file
    /// the guest refuses to hand over never passes for one that was never made.
    @Test func aMissingFileIsAbsentAndOtherRefusalsAreErrors() throws {
        fake.on("guest-file-open") { _, _ in
            #"{"error": {"class": "GenericError", "desc": "failed to open file '/x' (mode: 'r'): No such file or directory"}}"#
        }
        #expect(try agent.readFileIfPresent("/x") == nil)
        fake.on("guest-file-open") { _, _ in #"{"error": {"class": "GenericError", "desc": "Permission denied"}}"# }
        #expect(throws: VMLabError.self) { _ = try agent.readFileIfPresent("/x") }
    }

    @Test func errorObjectWithoutDescriptionFallsBackToItsClass() throws {
        fake.on("guest-file-open") { _, _ in #"{"error": {"class": "CommandNotFound"}}"# }
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/x") }
        #expect(error?.message.contains("refused guest-file-open: CommandNotFound") == true)
    }

    @Test func errorObjectWinsOverAGarbageReturn() throws {
        fake.on("guest-file-open") { _, _ in #"{"return": "junk", "error": {"desc": "no"}}"# }
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/x") }
        #expect(error?.message.contains("refused guest-file-open: no") == true)
    }

    @Test func replyWithNeitherReturnNorErrorIsMalformed() async throws {
        fake.on("guest-ping") { _, _ in "{}" }
        #expect(!(await agent.ping()))
        fake.on("guest-exec") { _, _ in #"{"id": 1}"# }
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.message.contains("malformed reply to guest-exec (no return)") == true)
    }

    @Test func wrongTypeNamesTheField() async throws {
        fake.reply("guest-exec", #"{"pid": "42"}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("pid has the wrong type") == true)
    }

    @Test func exitCodeBeyondInt32IsAnErrorNotATrap() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": 4294967296}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/false"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("'web' reported exit code 4294967296 for `/bin/false`") == true)
    }

    @Test func negativeExitCodeBeyondInt32IsAnError() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": -2147483649}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/false"]) }
        #expect(error?.message.contains("exit code -2147483649") == true)
    }

    @Test func signalBeyondInt32IsAnError() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "signal": 2147483648}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/false"]) }
        #expect(error?.message.contains("signal 2147483648") == true)
    }

    /// 128 + signal is the exit code of a signalled program; that sum must not trap either.
    @Test func signalNearInt32MaxIsAnError() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "signal": 2147483647}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/false"]) }
        #expect(error?.message.contains("signal 2147483647") == true)
    }

    @Test func exitCodeBeyondInt64IsMalformed() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": 1e300}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/false"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("malformed reply to guest-exec-status") == true)
    }

    @Test func outputThatIsNotBase64IsAnError() async throws {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": 0, "out-data": "not base64!"}"#)
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/echo"]) }
        #expect(error?.message.contains("stdout of `/bin/echo`") == true)
        #expect(error?.message.contains("not base64") == true)
    }

    @Test func oversizedReplyIsRefusedBeforeDecoding() async throws {
        let huge = #"{"return": {"pid": 1, "pad": ""# + String(repeating: "x", count: GuestAgent.maxReplyBytes) + #""}}"#
        fake.on("guest-exec") { _, _ in huge }
        let error = await #expect(throws: VMLabError.self) { _ = try await agent.exec(["/bin/true"]) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("'web' sent a reply to guest-exec of \(huge.utf8.count) bytes") == true)
        #expect(fake.requests("guest-exec-status").isEmpty)
    }

    @Test func controlCharactersFromTheGuestAreEscapedInMessages() throws {
        fake.on("guest-file-open") { _, _ in "\u{1B}[2J\u{1B}]0;owned\u{07}" }
        let error = #expect(throws: VMLabError.self) { _ = try agent.readFile("/x") }
        #expect(error?.message.contains("\u{1B}") == false)
        #expect(error?.message.contains("\u{07}") == false)
        #expect(error?.message.contains("[2J") == true)
    }
}
