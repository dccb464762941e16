import Foundation
@testable import Guests
import Testing
@testable import VMLabSupport

/// The freeze protocol with the agent, the backup definition, and the host-side readings.
@Suite struct StorageHostTests {
    let fake = FakeAgent()
    var agent: GuestAgent { GuestAgent(guest: "db", transport: fake) }

    func scriptInstall() {
        fake.reply("guest-exec", #"{"pid": 42}"#)
        fake.reply("guest-exec-status", #"{"exited": true, "exitcode": 0}"#)
        fake.reply("guest-file-open", "3")
        fake.on("guest-file-write") { args, _ in
            let bytes = Data(base64Encoded: args["buf-b64"] as? String ?? "")?.count ?? 0
            return #"{"return": {"count": \#(bytes), "eof": false}}"#
        }
        fake.reply("guest-file-close", "{}")
    }

    @Test func freezeTellsTheHookWrapperItsLimitThenWaitsLongerThanIt() async throws {
        scriptInstall()
        fake.reply("guest-fsfreeze-freeze", "2")
        #expect(try await agent.freezeFilesystems(hookTimeout: .seconds(15)) == 2)
        let write = try #require(fake.requests("guest-file-write").first)
        #expect(Data(base64Encoded: write.arguments["buf-b64"] as? String ?? "") == Data("15\n".utf8))
        #expect(fake.requests("guest-file-open").first?.arguments["path"] as? String == GuestAgent.hookTimeoutFile)
        // The agent call outlasts the hooks' limit: the wrapper, not libvirt, ends a hung hook.
        #expect(fake.requests("guest-fsfreeze-freeze").first?.timeoutSeconds == 35)
    }

    @Test func nonsenseFrozenCountIsAnError() async throws {
        scriptInstall()
        fake.reply("guest-fsfreeze-freeze", "-3")
        await #expect(throws: VMLabError.self) { _ = try await agent.freezeFilesystems(hookTimeout: .seconds(1)) }
    }

    @Test func ensureThawedRetriesUntilTheAgentSaysThawed() async throws {
        // Busy with a hook at first (the thaw fails), frozen, then thawed.
        fake.on("guest-fsfreeze-status") { _, n in n < 2 ? #"{"return": "frozen"}"# : #"{"return": "thawed"}"# }
        fake.on("guest-fsfreeze-thaw") { _, n in n == 0 ? #"{"error": {"class": "GenericError", "desc": "busy"}}"# : #"{"return": 2}"# }
        #expect(await agent.ensureThawed(within: .seconds(30)))
        #expect(fake.requests("guest-fsfreeze-thaw").count >= 1)
    }

    @Test func ensureThawedGivesUpAfterItsDeadline() async throws {
        fake.reply("guest-fsfreeze-status", #""frozen""#)
        fake.reply("guest-fsfreeze-thaw", "0")
        #expect(await agent.ensureThawed(within: .milliseconds(300)) == false)
    }

    @Test func backupCopiesOnlyTheListedDisks() {
        let xml = DiskBackupDefinition(copies: [("vdb", "/s/db-point-data.qcow2"), ("vdc", "/s/db-point-acks.qcow2")],
                                       allTargets: ["vda", "vdb", "vdc", "vdd"]).xml
        #expect(xml.contains("<disk name='vda' backup='no'/>"))
        #expect(xml.contains("<disk name='vdd' backup='no'/>"))
        #expect(xml.contains("<disk name='vdb' backup='yes' type='file'>"))
        #expect(xml.contains("<target file='/s/db-point-acks.qcow2'/>"))
        #expect(xml.hasPrefix("<domainbackup mode='push'>"))
    }

    @Test func memInfoFieldsInBytes() throws {
        let text = "MemTotal:       24000000 kB\nCached:          1048576 kB\nDirty:              2048 kB\nHugePages_Total:       0\n"
        #expect(try HostMemInfo.bytes("Cached", text: text) == 1 << 30)
        #expect(try HostMemInfo.bytes("Dirty", text: text) == 2 << 20)
        #expect(try HostMemInfo.bytes("HugePages_Total", text: text) == 0)
        #expect(throws: VMLabError.self) { try HostMemInfo.bytes("Nope", text: text) }
        #expect(try HostMemInfo.bytes("MemTotal") > 0)
    }

    @Test func pageCacheResidencyOfAFileJustWritten() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-pagecache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(repeating: 7, count: 4 << 20).write(to: file)
        let resident = try PageCache.residentBytes(file.path)
        // Just written, so (nearly) all of it is cached; never more than the file.
        #expect(resident > 1 << 20 && resident <= 4 << 20)
        #expect(throws: VMLabError.self) { try PageCache.residentBytes("/nonexistent/vmlab") }
    }
}
