import Foundation
@testable import Guests
import LabModel
import Testing

/// Placement on a host pool, against libvirt's test driver (each `test:///default` opens a
/// host of its own, with the same free memory): the most room wins, this process's own
/// placements count against a host, limits make a placement wait for a release, an
/// unreachable host is skipped with its reason, and a lab that fits nowhere says why.
@Suite("Host pool placement")
struct HostPoolPlacementTests {
    static func host(_ name: String, uri: String = "test:///default", reserve: UInt64 = 0, maxGuests: Int = 8) -> HostSpec {
        HostSpec(name: name, uri: uri, reserveMemoryBytes: reserve, maxGuests: maxGuests)
    }

    static func pool(_ hosts: HostSpec...) -> HostPool {
        HostPool(spec: HostPoolSpec(hosts: hosts, source: "hosts.yaml"), openTimeout: .seconds(5))
    }

    @Test func placementsSpreadByRoomLeft() async throws {
        let pool = Self.pool(Self.host("a"), Self.host("b"))
        var names: [String] = []
        for _ in 0..<4 { names.append(try await pool.acquire(guests: 1, memoryBytes: 256 << 10).host.name) }
        #expect(names == ["a", "b", "a", "b"], "equal hosts: ties go to the first, then the one with more room")
        #expect(await pool.placements == ["a": 2, "b": 2])
    }

    @Test func aFullPoolWaitsForARelease() async throws {
        let pool = Self.pool(Self.host("a", maxGuests: 1))
        let first = try await pool.acquire(guests: 1, memoryBytes: 1 << 10)
        let second = Task { try await pool.acquire(guests: 1, memoryBytes: 1 << 10) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await pool.placements["a"] == 1, "the second placement waits")
        await pool.release(first)
        #expect(try await second.value.host.name == "a")
    }

    /// A release that lands while another placement is reading the hosts (it suspends for
    /// each libvirt call) is not lost: the placement goes on instead of waiting for a release
    /// that already happened. Before the fix this hung (seen on CI under load). Each round
    /// gives up after 20 s, so a regression fails instead of hanging the suite.
    @Test func aReleaseDuringAPlacementIsNotLost() async throws {
        for round in 0..<60 {
            let pool = Self.pool(Self.host("a", maxGuests: 1))
            let first = try await pool.acquire(guests: 1, memoryBytes: 1 << 10)
            let second = Task { try await pool.acquire(guests: 1, memoryBytes: 1 << 10) }
            if round % 3 == 1 { await Task.yield() }
            if round % 3 == 2 { try await Task.sleep(for: .microseconds(200 * (round % 7))) }
            await pool.release(first)
            let placed = await withTaskGroup(of: Bool.self) { group in
                group.addTask { (try? await second.value) != nil }
                group.addTask {
                    try? await Task.sleep(for: .seconds(20))
                    await pool.release(first)  // wakes a placement that missed the first release, so the test ends
                    return false
                }
                let result = await group.next() ?? false
                group.cancelAll()
                return result
            }
            #expect(placed, "round \(round): the second placement missed the release and waited")
            if !placed { return }
        }
    }

    @Test func anUnreachableHostIsSkippedWithItsReason() async throws {
        let pool = Self.pool(Self.host("gone", uri: "qemu+tcp://127.0.0.1:1/system"), Self.host("b"))
        #expect(try await pool.acquire(guests: 1, memoryBytes: 1 << 10).host.name == "b")
        let lost = await pool.lostHosts
        #expect(lost["gone"]?.contains("host gone (qemu+tcp://127.0.0.1:1/system) is not reachable") == true, "\(lost)")
        let statuses = await HostPool.status(HostPoolSpec(hosts: [Self.host("gone", uri: "qemu+tcp://127.0.0.1:1/system")],
                                                          source: "x"), openTimeout: .seconds(5))
        #expect(statuses.first?.reachable == false)
    }

    @Test func aLabThatFitsNowhereSaysWhy() async throws {
        let pool = Self.pool(Self.host("a", maxGuests: 2))
        await #expect(throws: (any Error).self) { try await pool.acquire(guests: 3, memoryBytes: 1 << 10) }
        do {
            _ = try await pool.acquire(guests: 1, memoryBytes: 1 << 50)
            Issue.record("a petabyte lab was placed")
        } catch {
            #expect("\(error)".contains("no host of the pool (hosts.yaml) has room for 1 VM"), "\(error)")
        }
        let none = Self.pool(Self.host("gone", uri: "qemu+tcp://127.0.0.1:1/system"))
        do {
            _ = try await none.acquire(guests: 1, memoryBytes: 1 << 10)
            Issue.record("placed on an unreachable host")
        } catch {
            #expect("\(error)".contains("no host of the pool (hosts.yaml) is reachable"), "\(error)")
        }
    }
}
