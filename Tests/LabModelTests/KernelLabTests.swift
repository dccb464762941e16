import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// Kernel trouble on a console, the workspace a student edits, and the steps and measures
/// that use them.
struct KernelEventsTests {
    static let oops = """
        [   41.112233] vmlab: loaded\r
        [   42.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000\r
        [   42.000002] #PF: supervisor read access in kernel mode\r
        [   42.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI\r
        [   42.000004] RIP: 0010:vmlab_read+0x15/0x120 [vmlab]\r
        [   42.000005] Call Trace:\r
        [   42.000006]  vfs_read+0xa8/0x2b0\r
        [   42.000007] ---[ end trace 0000000000000000 ]---\r
        [   43.000000] something else\r

        """

    @Test func oneOopsIsOneEventWithItsTrace() {
        let events = KernelEvents.find(in: Data(Self.oops.utf8))
        #expect(events.count == 1)
        #expect(events.firstLine == "BUG: kernel NULL pointer dereference, address: 0000000000000000")
        let trace = events.trace ?? ""
        #expect(trace.contains("Oops: 0000 [#1]"))
        #expect(trace.contains("RIP: 0010:vmlab_read"))
        #expect(!trace.contains("something else"))
        #expect(!trace.contains("\r"))
    }

    @Test func eachKindIsCountedAndAPanicAfterAnOopsCountsAgain() {
        let text = Self.oops + """
            [   50.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kmodtest:99]
            [   51.0] ---[ end trace 1 ]---
            [   60.0] INFO: task kmodtest:100 blocked for more than 30 seconds.
            [   61.0] ---[ end trace 2 ]---
            [   70.0] BUG: KASAN: slab-out-of-bounds in vmlab_write+0x10
            [   71.0] ---[ end trace 3 ]---
            [   72.0] =============================================================================
            [   72.1] BUG vmlab_ctx (Tainted: G      D    O      ): Objects remaining in vmlab_ctx on __kmem_cache_shutdown()
            [   73.0] ---[ end trace 4 ]---
            [   80.0] general protection fault, probably for non-canonical address
            [   80.1] Kernel panic - not syncing: Fatal exception
            """
        let events = KernelEvents.find(in: Data(text.utf8))
        #expect(events.count == 7)
        #expect(events.firstLine?.hasPrefix("BUG: kernel NULL") == true)
    }

    @Test func aQuietConsoleHasNoEvents() {
        let events = KernelEvents.find(in: Data("[    1.0] Linux version 6.1\nVMLAB-READY\n".utf8))
        #expect(events == KernelEvents(count: 0, firstLine: nil, trace: nil))
    }

    @Test func hostileBytesAreShownSafelyAndTheTraceIsBounded() {
        var text = "BUG: \u{1B}[2J evil\n"
        for i in 0..<500 { text += "line \(i) " + String(repeating: "x", count: 300) + "\n" }
        let events = KernelEvents.find(in: Data(text.utf8) + Data([0xFF, 0xFE]))
        #expect(events.count == 1)
        #expect(events.firstLine?.contains("\u{1B}") == false)
        #expect((events.trace?.count ?? 0) <= KernelEvents.maxTraceCharacters)
        #expect((events.trace?.split(separator: "\n").count ?? 0) <= KernelEvents.maxTraceLines)
    }

    @Test func theMeasureCountsTheRunsConsoleAndKeepsTheTrace() async throws {
        let lab = FakeLab(consoles: ["box": Self.oops])
        let step = Step.measure(MeasureStep(name: "kernel_events", unit: "events", source: KernelEventsMeasure(vm: "box")))
        try await lab.execute(step)
        #expect(lab.recorded.map(\.name) == ["kernel_events"])
        #expect(lab.recorded.first?.value == 1)
        #expect(String(decoding: lab.artifacts["kernel-events-box.txt"] ?? Data(), as: UTF8.self).contains("NULL pointer"))

        let quiet = FakeLab(consoles: ["box": "all fine\n"])
        try await quiet.execute(step)
        #expect(quiet.recorded.first?.value == 0)
        #expect(quiet.artifacts.isEmpty)
    }
}

struct WorkspaceTests {
    func folder(_ files: [String: String] = [:]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    @Test func readsPlainFilesAndSkipsDotFiles() throws {
        let dir = try folder(["vmlab.c": "int x;", ".vmlab.c.swp": "editor", "notes.txt": "hi"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let ws = try Workspace.read(dir, spec: WorkspaceSpec())
        #expect(ws.files.keys.sorted() == ["notes.txt", "vmlab.c"])
        #expect(ws.files["vmlab.c"] == Data("int x;".utf8))
    }

    @Test func refusesLinksFoldersAndTooMuch() throws {
        let dir = try folder(["a.c": "1234567890"])
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("passwd").path, withDestinationPath: "/etc/passwd")
        #expect(throws: VMLabError.self) { _ = try Workspace.read(dir, spec: WorkspaceSpec()) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("passwd"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        #expect(throws: VMLabError.self) { _ = try Workspace.read(dir, spec: WorkspaceSpec()) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("sub"))
        #expect(throws: VMLabError.self) { _ = try Workspace.read(dir, spec: WorkspaceSpec(maxBytes: 5)) }
        try Data().write(to: dir.appendingPathComponent("b.c"))
        #expect(throws: VMLabError.self) { _ = try Workspace.read(dir, spec: WorkspaceSpec(maxFiles: 1)) }
        #expect(try Workspace.read(dir, spec: WorkspaceSpec(maxFiles: 2, maxBytes: 10)).files.count == 2)
    }

    @Test func aMissingWorkspaceSaysWhatToDo() {
        let error = #expect(throws: VMLabError.self) {
            _ = try Workspace.read(URL(fileURLWithPath: "/nonexistent/ws"), spec: WorkspaceSpec())
        }
        #expect(error?.message.contains("--workspace") == true)
    }

    @Test func createPutsStarterFilesOnceOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try Workspace.create(dir, starterFiles: ["vmlab.c": Data("start".utf8)]))
        try Data("mine".utf8).write(to: dir.appendingPathComponent("vmlab.c"))
        #expect(try !Workspace.create(dir, starterFiles: ["vmlab.c": Data("start".utf8)]))
        #expect(try Data(contentsOf: dir.appendingPathComponent("vmlab.c")) == Data("mine".utf8))
    }

    @Test func copyWorkspaceInstallsEveryFileUnderTheFolder() async throws {
        let lab = FakeLab(workspaceFiles: ["vmlab.c": Data("abc".utf8), "Makefile": Data("obj-m".utf8)])
        try await lab.execute(Step(CopyWorkspaceStep(vm: "box", to: "/root/work/")))
        #expect(lab.calls == ["box install 5 /root/work/Makefile", "box install 3 /root/work/vmlab.c"])
        await #expect(throws: VMLabError.self) { try await FakeLab().execute(Step(CopyWorkspaceStep(vm: "box", to: "/root/work"))) }
        await #expect(throws: StepProblem.self) { try await lab.execute(Step(CopyWorkspaceStep(vm: "box", to: "work"))) }
    }

    @Test func aReplaysWorkspaceIsMadeOfTheHandedInFiles() {
        var lab = LabSpec(name: "k", title: "", summary: "", image: "kbuild", parameters: [], networks: [], vms: [],
                          setup: [], experiments: [], source: URL(fileURLWithPath: "/x/lab.yaml"),
                          artifacts: [ArtifactSpec(name: "vmlab.c", workspaceFile: "vmlab.c"),
                                      ArtifactSpec(name: "rules", vm: "box", path: "/etc/rules")])
        #expect(lab.workspace(fromArtifacts: ["vmlab.c": Data("x".utf8)]) == nil)
        lab.workspace = WorkspaceSpec()
        let ws = lab.workspace(fromArtifacts: ["vmlab.c": Data("x".utf8), "rules": Data("r".utf8)])
        #expect(ws?.files == ["vmlab.c": Data("x".utf8)])
    }
}

struct KernelTraceTrimTests {
    @Test func registerAndCodeDumpsAreLeftOutButRIPAndTheCallTraceStay() {
        let text = """
            BUG: kernel NULL pointer dereference, address: 0000000000000000
            RIP: 0010:vmlab_read+0x50/0x1d0 [vmlab]
            Code: 84 24 88 00 00 00 48 8b 87 c8
            RSP: 0018:ffffd1ef8068fd40 EFLAGS: 00000246
            RAX: 0000000000000000 RBX: ffffd1ef8068fd48 RCX: 0000000000000000
            Call Trace:
             vfs_read+0xa5/0x310
            ---[ end trace 0000000000000000 ]---
            """
        let trace = KernelEvents.find(in: Data(text.utf8)).trace ?? ""
        #expect(trace.contains("RIP: 0010:vmlab_read"))
        #expect(trace.contains("vfs_read"))
        #expect(!trace.contains("Code:"))
        #expect(!trace.contains("RAX:"))
    }
}
