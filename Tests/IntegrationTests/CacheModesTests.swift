import Foundation
import LabStore
import Testing
import VMLabSupport

extension RealHost {
/// The host-side measures on a real guest: the host caches a writeback disk's data and not
/// a cache=none disk's (mincore on the image files), the guest flushes a write-back disk and
/// not a write-through one (libvirt block statistics), and a guest power cut keeps what was
/// fsynced on every mode, unsafe included.
@Suite(.serialized)
struct CacheModesTests {
    @Test func hostCacheFlushesAndPowerCut() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "cache-modes"], home: home)
            try? FileManager.default.removeItem(at: home.root)
        }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home)
        }
        let started = try await vmlab("lab", "start", "cache-modes")
        try #require(started.status == 0, "\(started.stderr)")
        let io = try await vmlab("run", "cache-modes", "io", "--sweep", "mode=none,writeback,writethrough", "--set", "size_mib=16")
        #expect(io.status == 0, "\(io.stderr)")
        let cut = try await vmlab("run", "cache-modes", "power-cut")
        #expect(cut.status == 0, "\(cut.stderr)")

        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "cache-modes").first)
        let runs = try store.runs(instance: instance.id)
        let measured = try store.measurements(instance: instance.id)
        func value(_ name: String, mode: String? = nil) -> Double? {
            let run = runs.first { mode == nil ? $0.experiment == "power-cut" : $0.parameterValues["mode"] == mode }
            return measured.first { $0.runID == run?.id && $0.name == name }?.value
        }
        #expect(try #require(value("host_cache_mib", mode: "none")) < 1, "O_DIRECT leaves the host page cache alone")
        #expect(try #require(value("host_cache_mib", mode: "writeback")) >= 16, "the host caches what the guest wrote")
        #expect(try #require(value("flushes", mode: "writeback")) > 0, "a write-back disk is flushed by the guest")
        #expect(value("flushes", mode: "writethrough") == 0, "a write-through disk needs no flush")
        for mode in ["none", "writeback", "writethrough", "directsync", "unsafe"] {
            #expect(value("synced_\(mode)") == 1, "the fsynced file on \(mode) survived the guest's power cut")
        }

        #expect(try await vmlab("lab", "stop", "cache-modes").status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
        #expect(try store.resources().isEmpty)
    }
}
}
