import Foundation
import LabStore
import Testing
import VMLabSupport

extension RealHost {
/// A guest vmlab froze is never left frozen: not when a run holding a freeze is
/// interrupted (Ctrl-C), not when an fsfreeze hook never returns (it is cut off and the
/// freeze fails). And the snapshot-consistency lab's three snapshots behave as its handout
/// says; stopping the lab removes the disk copies too.
@Suite(.serialized)
struct FreezeTests {
    @Test func neverLeftFrozen() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "snapshot-consistency"], home: home)
            try? FileManager.default.removeItem(at: home.root)
        }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home)
        }
        /// Whether db's filesystems take a write within 5 s (a frozen one blocks it).
        func writable() async throws -> Bool {
            try await vmlab("exec", "snapshot-consistency", "db", "--", "timeout", "5", "touch", "/mnt/data/probe", "/root/probe").status == 0
        }

        let started = try await vmlab("lab", "start", "snapshot-consistency")
        try #require(started.status == 0, "\(started.stderr)")
        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "snapshot-consistency").first)

        // 1. A run holding a freeze for a minute, interrupted while it holds it.
        let process = Process()
        process.executableURL = IntegrationEnvironment.vmlabBinary
        process.arguments = ["run", "snapshot-consistency", "freeze-hold", "--set", "hold=60"]
        process.environment = ProcessInfo.processInfo.environment.merging(
            try await IntegrationEnvironment.environment(home: home)) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline,
              try !store.events(instance: instance.id).contains(where: { $0.kind == "freeze" && $0.ok }) {
            try await Task.sleep(for: .milliseconds(200))
        }
        try #require(try store.events(instance: instance.id).contains { $0.kind == "freeze" && $0.ok }, "the freeze step ran")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(try store.runs(instance: instance.id).last?.error == "interrupted")
        #expect(try await writable(), "db was left frozen after the interrupted run")

        // 2. A hook that never returns: cut off after the step's 15 s, the freeze fails, db is thawed.
        let hung = try await vmlab("exec", "snapshot-consistency", "db", "--", "sh", "-c",
                                   "printf '#!/bin/sh\\nsleep 600\\n' > /etc/vmlab/app-hook")
        #expect(hung.status == 0, "\(hung.stderr)")
        let clock = ContinuousClock.now
        let failed = try await vmlab("run", "snapshot-consistency", "snapshot", "--set", "consistency=application")
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("guest-fsfreeze-freeze"), "\(failed.stderr)")
        #expect(ContinuousClock.now - clock < .seconds(150))
        #expect(try await writable(), "db was left frozen after its hook hung")
        let log = try await vmlab("exec", "snapshot-consistency", "db", "--", "cat", "/run/vmlab/fsfreeze-hook.log")
        #expect(log.stdout.contains("exit 137"), "the hung hook was killed: \(log.stdout)")

        // 3. The reference hook: nothing acknowledged is lost, the copy is intact.
        let hook = IntegrationEnvironment.repository.appendingPathComponent("Grading/snapshot-consistency/solution/app-hook")
        let copy = try await vmlab("exec", "snapshot-consistency", "db", "--", "sh", "-c",
                                   "echo \(try Data(contentsOf: hook).base64EncodedString()) | base64 -d > /etc/vmlab/app-hook")
        #expect(copy.status == 0, "\(copy.stderr)")
        let good = try await vmlab("run", "snapshot-consistency", "snapshot", "--sweep", "consistency=crash,application")
        #expect(good.status == 0, "\(good.stderr)")
        let runs = try store.runs(instance: instance.id).suffix(2)
        let measured = try store.measurements(instance: instance.id)
        for run in runs {
            let mine = Dictionary(measured.filter { $0.runID == run.id }.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            #expect(mine["integrity_ok"] == 1)
            #expect((mine["acked"] ?? 0) >= 1)
            if run.parameterValues["consistency"] == "application" { #expect(mine["lost_acked"] == 0) }
        }
        let copies = try store.resources(owner: instance.owner).filter { $0.name.contains("/snapshots/") }
        #expect(copies.count == 2, "the two disk copies of snapshot point are recorded: \(copies.map(\.name))")

        #expect(try await vmlab("lab", "stop", "snapshot-consistency").status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
        #expect(try store.resources().isEmpty)
        #expect(copies.allSatisfy { !FileManager.default.fileExists(atPath: $0.name) })
    }
}
}
