import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Libvirt
import Results
import Runner
import Testing
import VMLabSupport

/// The journal-replay lab as a student drives it, through the real binary: start, a
/// two-value sweep of real crashes, results, report, reset, stop — and a runner killed
/// mid-run whose leftovers `vmlab gc` removes.
extension RealHost {
@Suite(.serialized)
struct JournalReplayLabTests {
    @Test func sweepResultsResetStop() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home)
        }

        let coldClock = ContinuousClock.now
        let started = try await vmlab("lab", "start", "journal-replay")
        let coldSeconds = (ContinuousClock.now - coldClock).seconds
        #expect(started.status == 0, "\(started.stderr)")
        defer { IntegrationEnvironment.vmlabSync(["lab", "stop", "journal-replay"], home: home) }
        let again = try await vmlab("lab", "start", "journal-replay")
        #expect(again.status == 1)
        #expect(again.stderr.contains("already started"))

        let run = try await vmlab("run", "journal-replay", "crash-replay", "--sweep", "commit=1,30", "--set", "files=300")
        #expect(run.status == 0, "\(run.stderr)")

        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "journal-replay").first)
        let runs = try store.runs(instance: instance.id)
        #expect(runs.count == 2)
        #expect(runs.allSatisfy { $0.status == .ok })
        #expect(runs.map { $0.parameterValues["commit"] } == ["1", "30"])
        let measured = try store.measurements(instance: instance.id)
        for r in runs {
            let mine = measured.filter { $0.runID == r.id }
            let mount = try #require(mine.first { $0.name == "mount_ms" }, "run \(r.id!) measured the replaying mount")
            #expect(mount.value > 0 && mount.value < 60_000)
            let fsck = try #require(mine.first { $0.name == "fsck_status" }, "run \(r.id!) recorded fsck's verdict")
            #expect([0, 1, 2, 4].contains(fsck.value))
            #expect([0, 1].contains(try #require(mine.first { $0.name == "recovered" }).value))
            #expect(mine.first { $0.name == "files_survived" }.map { $0.value >= 0 && $0.value <= 300 } == true)
            #expect(mine.first { $0.name == "boot_seconds" }.map { $0.value > 0.5 } == true)
        }
        // The crash was real: the event log shows the power cut and the restart of each run.
        let events = try store.events(instance: instance.id)
        #expect(events.filter { $0.kind == "crash" && $0.ok }.count == 2)

        let json = try await vmlab("results", "journal-replay", "--format", "json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        let csv = try await vmlab("results", "journal-replay", "--format", "csv")
        #expect(csv.stdout.split(whereSeparator: \.isNewline).count == 3)

        let reportFile = home.root.appendingPathComponent("report.html")
        #expect(try await vmlab("report", "journal-replay", "-o", reportFile.path).status == 0)
        let html = try String(contentsOf: reportFile, encoding: .utf8)
        #expect(html.contains("<svg"))
        #expect(html.contains("mount_ms"))

        // Reset: a file written now is gone after the revert to baseline.
        #expect(try await vmlab("exec", "journal-replay", "box", "--", "touch", "/root/after-baseline").status == 0)
        #expect(try await vmlab("lab", "reset", "journal-replay").status == 0)
        #expect(try await vmlab("exec", "journal-replay", "box", "--", "test", "-e", "/root/after-baseline").status == 1)

        #expect(try await vmlab("lab", "stop", "journal-replay").status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
        #expect(try store.resources().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: home.root.appendingPathComponent("instances/\(instance.id)").path))
        // Results outlive the guests.
        #expect(try await vmlab("results", "journal-replay").stdout.contains("mount_ms"))
        #expect(started.stderr.contains("baseline saved for later starts"), "\(started.stderr)")
        try await restartFromTheSavedBaseline(home: home, connection: connection, first: instance, coldSeconds: coldSeconds)
    }

    /// The second start restores the baseline the first one saved: same names (its slot),
    /// the guest as setup left it with its clock set to now, and a crash run that works;
    /// a start beside it finds the slot taken and starts cold into a slot of its own.
    func restartFromTheSavedBaseline(home: VMLabHome, connection: Connection, first: InstanceRecord,
                                     coldSeconds: Double) async throws {
        let store = try Store(home: home)
        let clock = ContinuousClock.now
        let restored = try await IntegrationEnvironment.vmlab(["lab", "start", "journal-replay"], home: home)
        let warmSeconds = (ContinuousClock.now - clock).seconds
        #expect(restored.status == 0, "\(restored.stderr)")
        defer { IntegrationEnvironment.vmlabSync(["lab", "stop", "journal-replay"], home: home) }
        #expect(restored.stderr.contains("restored from its saved baseline"), "\(restored.stderr)")
        let instance = try #require(try store.activeInstances(lab: "journal-replay").first)
        #expect(instance.slot == first.slot && instance.id != first.id)
        let date = try await IntegrationEnvironment.vmlab(["exec", "journal-replay", "box", "--", "date", "+%s"], home: home)
        let guestNow = Double(date.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(abs(guestNow - Date().timeIntervalSince1970) < 30, "the restored guest's clock: \(date.stdout)")
        let run = try await IntegrationEnvironment.vmlab(["run", "journal-replay", "crash-replay", "--set", "files=100"], home: home)
        #expect(run.status == 0, "a run on a restored lab: \(run.stderr)")
        print(String(format: "JournalReplayLabTests: lab start cold (image build included) %.1f s, from the saved baseline %.1f s (%.2f ×)",
                     coldSeconds, warmSeconds, warmSeconds / coldSeconds))

        let listed = try await IntegrationEnvironment.vmlab(["image", "baselines"], home: home)
        #expect(listed.stdout.contains(first.slot), "\(listed.stdout)")
        #expect(try await IntegrationEnvironment.vmlab(["lab", "stop", "journal-replay"], home: home).status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
        // Removing the image removes its saved baselines.
        let removed = try await IntegrationEnvironment.vmlab(["image", "rm", "base"], home: home)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(BaselineCache(home: home).entries().isEmpty)
    }
}
}
