import Foundation
import LabStore
import Testing
import TestSupport
import VMLabSupport

extension RealHost {
/// vmlab killed with SIGKILL at random points of `lab start` and `run` (seeded; the seed is
/// printed, and VMLAB_KILL_SEED replays one): after `gc` nothing is left running in
/// libvirt, on disk or in the store, an interrupted run is failed while its lab stays
/// usable, and the lab starts and resets again.
@Suite struct KillTests {
    /// Starts `vmlab args` and SIGKILLs it after `delay` (or lets it finish first).
    func killed(_ args: [String], after delay: Duration, home: VMLabHome) async throws -> Bool {
        let process = Process()
        process.executableURL = IntegrationEnvironment.vmlabBinary
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(
            try await IntegrationEnvironment.environment(home: home)) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + delay
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let wasRunning = process.isRunning
        if wasRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return wasRunning
    }

    /// After `gc`: no instance stuck starting, no run marked running, and libvirt holds
    /// exactly the objects of ready instances.
    func expectClean(_ store: Store, home: VMLabHome, _ label: String) throws {
        let active = try store.activeInstances()
        #expect(active.allSatisfy { $0.state == .ready }, "\(label): an instance is still starting")
        #expect(try active.flatMap { try store.runs(instance: $0.id) }.allSatisfy { $0.status != .running },
                "\(label): a run is still marked running")
        let leftovers = try IntegrationEnvironment.leftovers(try IntegrationEnvironment.connect(), home: home)
        let ready = Set(active.map(\.slot))
        #expect(leftovers.allSatisfy { name in ready.contains { name.contains("-\($0)-") } },
                "\(label): left in libvirt: \(leftovers)")
        let owners = Set(try store.resources().map(\.owner))
        #expect(owners.isSubset(of: Set(active.map(\.owner))), "\(label): records of dead owners: \(owners)")
    }

    @Test func killedStartsAndRunsLeaveNothingAfterGC() async throws {
        let seed = ProcessInfo.processInfo.environment["VMLAB_KILL_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970)
        print("KillTests seed: \(seed) (replay with VMLAB_KILL_SEED=\(seed))")
        var random = SeededRandom(state: seed)
        let home = try IntegrationEnvironment.makeHome()
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "journal-replay"], home: home)
            try? FileManager.default.removeItem(at: home.root)
        }
        let store = try Store(home: home)
        var kills = 0

        // 1. `lab start` killed at five random points, each followed by gc.
        for i in 0..<5 {
            let delay = Duration.milliseconds(Int.random(in: 300...14_000, using: &random))
            if try await killed(["lab", "start", "journal-replay"], after: delay, home: home) { kills += 1 }
            let gc = try await IntegrationEnvironment.vmlab(["gc"], home: home)
            #expect(gc.status == 0, "start kill \(i) after \(delay): gc: \(gc.stderr)")
            try expectClean(store, home: home, "start kill \(i) after \(delay)")
            // A start that finished before the kill is a ready lab: stop it for the next try.
            if try !store.activeInstances(lab: "journal-replay").isEmpty {
                #expect(try await IntegrationEnvironment.vmlab(["lab", "stop", "journal-replay"], home: home).status == 0)
            }
        }

        // 2. The lab starts again; `run` killed at five random points, each followed by gc
        //    and a reset that must work: an interrupted run is not a dead lab.
        let start = try await IntegrationEnvironment.vmlab(["lab", "start", "journal-replay"], home: home)
        #expect(start.status == 0, "\(start.stderr)")
        let instance = try #require(try store.activeInstances(lab: "journal-replay").first)
        for i in 0..<5 {
            let delay = Duration.milliseconds(Int.random(in: 500...12_000, using: &random))
            let args = ["run", "journal-replay", "crash-replay", "--set", "files=200"]
            if try await killed(args, after: delay, home: home) { kills += 1 }
            let gc = try await IntegrationEnvironment.vmlab(["gc"], home: home)
            #expect(gc.status == 0, "run kill \(i) after \(delay): gc: \(gc.stderr)")
            try expectClean(store, home: home, "run kill \(i) after \(delay)")
            #expect(try store.instance(id: instance.id)?.state == .ready, "run kill \(i): the lab was torn down")
            let reset = try await IntegrationEnvironment.vmlab(["lab", "reset", "journal-replay"], home: home)
            #expect(reset.status == 0, "run kill \(i) after \(delay): reset: \(reset.stderr)")
        }
        #expect(try store.runs(instance: instance.id).contains { $0.error?.hasPrefix("interrupted") == true })
        #expect(kills >= 5, "only \(kills) of 10 processes were still running when killed")

        #expect(try await IntegrationEnvironment.vmlab(["lab", "stop", "journal-replay"], home: home).status == 0)
        #expect(try IntegrationEnvironment.leftovers(try IntegrationEnvironment.connect(), home: home).isEmpty)
        #expect(try store.resources().isEmpty)
    }

    @Test func concurrentStartsOneWinsTheOtherIsBusy() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "journal-replay"], home: home)
            try? FileManager.default.removeItem(at: home.root)
        }
        async let a = IntegrationEnvironment.vmlab(["lab", "start", "journal-replay"], home: home)
        async let b = IntegrationEnvironment.vmlab(["lab", "start", "journal-replay"], home: home)
        let results = try await [a, b]
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
        let loser = try #require(results.first { $0.status != 0 })
        #expect(loser.status == 75 || loser.stderr.contains("already started"), "status \(loser.status): \(loser.stderr)")
        #expect(loser.stderr.contains("busy: lab journal-replay is being changed by pid") || loser.stderr.contains("already started"))
        #expect(try Store(home: home).activeInstances(lab: "journal-replay").count == 1)
    }
}
}
