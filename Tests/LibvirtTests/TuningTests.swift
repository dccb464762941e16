import Foundation
import Testing
import Libvirt

@Suite("Tuning")
struct TuningTests {
    @Test func schedulerParametersOnTheTestDriver() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-sched")
        defer { try? domain.destroy(); try? domain.undefine() }

        // The test driver's scheduler is "fair" with a single "weight" parameter, so
        // none of the cgroup fields exist there: reading succeeds with all nil ...
        #expect(try domain.schedulerParameters() == SchedulerParameters())
        // ... setting nothing is a no-op ...
        try domain.setSchedulerParameters(SchedulerParameters())
        // ... and setting a cgroup field is refused: with the default live flag because
        // the test driver only takes AFFECT_CURRENT, without it because of the field.
        let shares = SchedulerParameters(cpuShares: 512, vcpuPeriod: 100_000, vcpuQuota: 25_000)
        let live = try #require(throws: LibvirtError.self) { try domain.setSchedulerParameters(shares) }
        #expect(live.message.contains("flags"))
        let current = try #require(throws: LibvirtError.self) {
            try domain.setSchedulerParameters(shares, live: false)
        }
        #expect(current.message.contains("cpu_shares"))
    }

    @Test func setMemoryAndMaxMemory() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-mem")
        defer { try? domain.destroy(); try? domain.undefine() }

        try domain.setMemory(kibibytes: 131_072)
        #expect(try domain.info().memoryKiB == 131_072)
        let tooMuch = try #require(throws: LibvirtError.self) { try domain.setMemory(kibibytes: 1 << 30) }
        #expect(!tooMuch.message.isEmpty)

        try domain.destroy()
        try domain.setMaxMemory(kibibytes: 524_288)
        #expect(try domain.info().maxMemoryKiB == 524_288)
    }

    @Test func memoryStats() throws {
        let connection = try openTestConnection()
        let domain = try connection.domain(named: "test")
        let stats = try domain.memoryStats()
        #expect(stats[.actualBalloon] != nil)
        #expect(stats[.rss] != nil)
        do {
            try domain.setMemoryStatsPeriod(seconds: 2)
        } catch let error as LibvirtError {
            #expect(!error.message.isEmpty)  // not every driver supports it
        }
    }

    @Test func cpuTimes() throws {
        let connection = try openTestConnection()
        let domain = try connection.domain(named: "test")
        let total = try domain.totalCPUTimeNanoseconds()
        #expect(total > 0)
        let vcpu = try domain.vcpuTimeNanoseconds()
        #expect(vcpu > 0)
    }
}
