import Foundation
import LabStore
import Libvirt
import Testing
import VMLabSupport

/// A guest kernel that panics, through the real binary: the pvpanic device tells libvirt
/// at once, so the run fails within seconds (not after its step's 300 s timeout) saying
/// the VM panicked, the run keeps the console that shows the panic, and the next run
/// starts from the baseline with a console of its own.
extension RealHost {
@Suite(.serialized)
struct GuestPanicTests {
    /// A course of its own: the base image and a one-VM lab that panics its guest.
    static func course() throws -> URL {
        try IntegrationEnvironment.oneLabCourse("panic", yaml: """
            title: panic
            summary: a guest whose kernel panics on demand
            image: base
            vms:
              box: {memory: 256M}
            experiments:
              panic:
                steps:
                  - exec: {vm: box, timeout: 300, command: "touch /root/after-baseline; echo c > /proc/sysrq-trigger"}
              check:
                steps:
                  - measure: {name: clean, unit: bool, vm: box, command: "test -e /root/after-baseline && echo 0 || echo 1"}
                  - measure: {name: kernel_events, kernel-events: box}
            """)
    }

    @Test func aPanicEndsTheRunAtOnceAndTheNextRunStartsFromTheBaseline() async throws {
        let home = try IntegrationEnvironment.makeHome()
        let course = try Self.course()
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "panic"], home: home, course: course)
            try? FileManager.default.removeItem(at: home.root)
            try? FileManager.default.removeItem(at: course)
        }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home, course: course)
        }
        let started = try await vmlab("lab", "start", "panic")
        #expect(started.status == 0, "\(started.stderr)")

        let clock = ContinuousClock.now
        let panicked = try await vmlab("run", "panic", "panic")
        let seconds = (ContinuousClock.now - clock).seconds
        #expect(panicked.status != 0)
        #expect(panicked.stderr.contains("VM box panicked"), "\(panicked.stderr)")
        // The revert before the run takes a few seconds; the step's timeout is 300 s.
        #expect(seconds < 60, "the panic was noticed after \(seconds) s")

        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "panic").first)
        let run = try #require(try store.runs(instance: instance.id).first)
        #expect(run.status == .failed)
        let console = home.root.appendingPathComponent("artifacts/\(instance.id)/run-\(run.id!)/console-box.log")
        #expect(try String(contentsOf: console, encoding: .utf8).contains("Kernel panic - not syncing"))

        let check = try await vmlab("run", "panic", "check")
        #expect(check.status == 0, "\(check.stderr)")
        let measured = try store.measurements(instance: instance.id).filter { $0.experiment == "check" }
        #expect(measured.first { $0.name == "clean" }?.value == 1, "the next run starts from the baseline")
        #expect(measured.first { $0.name == "kernel_events" }?.value == 0, "each run reads only its own console")

        #expect(try await vmlab("lab", "stop", "panic").status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }
}
}
