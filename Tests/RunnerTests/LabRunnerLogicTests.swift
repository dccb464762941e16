import Foundation
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Runner
import Testing
@testable import VMLabSupport

/// The runner's pure pieces: names that cannot collide, isolated network XML, and the
/// run/measurement records.
struct LabNamingTests {
    @Test func bridgeNamesFitTheKernelLimit() {
        for _ in 0..<200 {
            let id = Naming.newInstanceID()
            #expect(id.count == 8)
            for index in 0..<10 { #expect(Naming.bridge(instance: id, index: index).count <= 15) }
        }
    }

    @Test func namesDifferBetweenInstancesAndVMs() {
        let a = Naming.labDomain(lab: "journal-replay", instance: "0000abcd", vm: "box")
        let b = Naming.labDomain(lab: "journal-replay", instance: "0000abce", vm: "box")
        #expect(a == "vmlab-journal-replay-0000abcd-box")
        #expect(a != b)
        #expect(Naming.labNetwork(instance: "0000abcd", network: "lan") == "vmlab-0000abcd-lan")
    }

    @Test func macsAreStableLocalAndDistinct() {
        let m = Naming.mac(instance: "0000abcd", vm: "web", nic: 0)
        #expect(m == Naming.mac(instance: "0000abcd", vm: "web", nic: 0))
        #expect(m.hasPrefix("52:54:00:"))
        #expect(m.count == 17)
        let all = Set((0..<50).map { Naming.mac(instance: "0000abcd", vm: "vm\($0)", nic: 0) })
        #expect(all.count == 50)
    }

    @Test func diskTargets() {
        #expect(LabRunner.diskTarget(0) == "vda")
        #expect(LabRunner.diskTarget(1) == "vdb")
        #expect(LabRunner.diskTarget(3) == "vdd")
    }

    /// nat translates towards the outside bridge only; outside has an address but no rules
    /// of libvirt's; neither runs dnsmasq. Outside networks come first (a nat names its bridge).
    @Test func natAndOutsideNetworks() throws {
        let lab = LabSpec(name: "x", title: "T", summary: "S", image: "base", parameters: [],
                          networks: [NetworkSpec(name: "lan"),
                                     NetworkSpec(name: "inner", kind: .nat(outside: "campus"), address: IPv4Network("198.18.20.1/24")),
                                     NetworkSpec(name: "campus", kind: .outside, address: IPv4Network("198.18.10.1/24"))],
                          vms: [], setup: [], experiments: [], source: URL(fileURLWithPath: "/x/lab.yaml"))
        let definitions = LabRunner.networkDefinitions(lab, slot: "0000abcd", owner: OwnerTag(owner: "lab:0000abcd", home: "h"))
        #expect(definitions.map(\.name) == ["vmlab-0000abcd-campus", "vmlab-0000abcd-lan", "vmlab-0000abcd-inner"])
        let outside = definitions[0].xml, nat = definitions[2].xml
        #expect(outside.contains("<forward mode='open'/>") && outside.contains("<ip address='198.18.10.1' prefix='24'/>"))
        #expect(nat.contains("<forward mode='nat' dev='vl0000abcd2'>"), "nat egress only into the outside bridge: \(nat)")
        #expect(nat.contains("<ip address='198.18.20.1' prefix='24'/>"))
        for xml in [outside, nat] {
            #expect(xml.contains("<dns enable='no'/>") && !xml.contains("<dhcp"), "no dnsmasq on a lab bridge: \(xml)")
        }
        #expect(!definitions[1].xml.contains("<forward") && !definitions[1].xml.contains("<ip"))
    }

    @Test func labNetworksAreIsolated() {
        let xml = NetworkDefinition(name: "vmlab-0000abcd-lan", bridge: "vl0000abcd0", owner: OwnerTag(owner: "lab:0000abcd", home: "h")).xml
        #expect(xml.contains("<name>vmlab-0000abcd-lan</name>"))
        #expect(xml.contains("<bridge name='vl0000abcd0'"))
        #expect(!xml.contains("<forward"), "no forward mode: nothing leaves the bridge")
        #expect(!xml.contains("<ip"), "no host address: the host is not on the lab network")
        #expect(!xml.contains("<dhcp"))
    }
}

struct LabStoreTests {
    func store() throws -> (Store, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-labstore-\(UUID().uuidString)")
        return (try Store(url: dir.appendingPathComponent("vmlab.sqlite")), dir)
    }

    func instance(_ id: String, lab: String = "journal-replay", student: String? = nil, createdAt: Date = Date()) -> InstanceRecord {
        InstanceRecord(id: id, lab: lab, student: student, imageDigest: "d", fixedParameters: "{}", state: .starting,
                       pid: getpid(), createdAt: createdAt, stoppedAt: nil)
    }

    @Test func latestInstanceIsTheNewestThatIsNotAGradingReplay() throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        try store.insertInstance(instance("0000aaaa", createdAt: t0))
        try store.insertInstance(instance("0000bbbb", student: "s1234", createdAt: t0.addingTimeInterval(60)))
        try store.insertInstance(instance("0000cccc", student: InstanceRecord.replayStudent, createdAt: t0.addingTimeInterval(120)))
        try store.insertInstance(instance("0000dddd", lab: "cpu-scheduler", createdAt: t0.addingTimeInterval(180)))
        #expect(try store.latestInstance(lab: "journal-replay")?.id == "0000bbbb")
        try store.insertInstance(instance("0000eeee", createdAt: t0.addingTimeInterval(240)))
        #expect(try store.latestInstance(lab: "journal-replay")?.id == "0000eeee")
        #expect(try store.latestInstance(lab: "mem-overcommit") == nil)
    }

    @Test func runsMeasurementsAndStatesRoundTrip() throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(at: dir) }
        try store.insertInstance(instance("0000aaaa"))
        #expect(try store.activeInstances(lab: "journal-replay").map(\.id) == ["0000aaaa"])
        let run = try store.beginRun(instance: "0000aaaa", experiment: "crash-replay", parameters: ["commit": "5"], repetition: 1)
        #expect(run.status == .running)
        #expect(try store.interruptedRuns().isEmpty, "our own process is alive")
        try store.recordMeasurement(RunMeasurement(runID: run.id!, experiment: "crash-replay", name: "mount_ms", value: 12.5,
                                                unit: "ms", parameters: ["commit": "5"], repetition: 1, takenAt: Date()),
                                    instance: "0000aaaa")
        try store.finishRun(run.id!, error: nil)
        let measured = try store.measurements(instance: "0000aaaa")
        #expect(measured.count == 1)
        #expect(try store.measurements(instance: "0000aaaa", run: run.id!) == measured)
        #expect(try store.measurements(instance: "0000aaaa", run: run.id! + 1).isEmpty)
        #expect(measured[0].value == 12.5 && measured[0].parameters == ["commit": "5"] && measured[0].repetition == 1)
        #expect(try store.runs(instance: "0000aaaa").map(\.status) == [.ok])

        try store.setInstanceState("0000aaaa", .stopped)
        #expect(try store.activeInstances().isEmpty)
        #expect(try store.latestInstance(lab: "journal-replay")?.stoppedAt != nil, "results outlive a stopped lab")
    }

    @Test func aRunOfADeadProcessIsInterrupted() throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(at: dir) }
        try store.insertInstance(instance("0000bbbb"))
        let run = try store.beginRun(instance: "0000bbbb", experiment: "e", parameters: [:], repetition: 0)
        #expect(try store.interruptedRuns().isEmpty, "this process runs it")
        // Pretend a process that no longer exists owned it: by pid (a record without an
        // identity), by start time (the pid was reused), and by boot (another boot or machine).
        let me = ProcessIdentity.current
        for (pid, process) in [(Int32.max - 1, nil), (me.pid, "\(me.pid):\(me.startTicks + 1):\(me.bootID)"),
                               (me.pid, "\(me.pid):\(me.startTicks):another-boot")] as [(Int32, String?)] {
            try store.db.write { db in
                try db.execute(sql: "UPDATE run SET pid = ?, process = ? WHERE id = ?", arguments: [pid, process, run.id!])
            }
            #expect(try store.interruptedRuns().map(\.id) == [run.id], "\(pid) \(process ?? "-")")
        }
    }

    @Test func ownerLocksAreExclusiveAndSayWhoHoldsThem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-locks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try OwnerLock.acquire("instance-0000aaaa", in: dir, what: "lab x")
        #expect(OwnerLock.isHeld("instance-0000aaaa", in: dir))
        #expect(throws: VMLabError.self) { try OwnerLock.acquire("instance-0000aaaa", in: dir, what: "lab x") }
        do {
            _ = try OwnerLock.acquire("instance-0000aaaa", in: dir, what: "lab x")
        } catch {
            #expect(error.code == .busy)
            #expect(error.message.hasPrefix("busy: lab x is being changed by pid \(getpid()) ("))
        }
        #expect(try OwnerLock.tryAcquire("instance-0000bbbb", in: dir) != nil, "other owners are independent")
        withExtendedLifetime(first) {}
        _ = consume first
        #expect(!OwnerLock.isHeld("instance-0000aaaa", in: dir), "the lock goes with its holder")
    }
}

/// CPU pinning reaches the domain XML; a cpu-time measure parses and substitutes.
struct PinningAndCPUTimeTests {
    @Test func pinnedVMsGetVcpupinAndEmulatorpin() {
        var d = DomainDefinition(name: "vmlab-x", accelerator: .tcg, memoryMiB: 256, vcpus: 2, kernel: "/k", initrd: "/i",
                                 kernelArguments: "", disks: [], owner: OwnerTag(owner: "lab:x", home: "h"))
        #expect(!d.xml.contains("<cputune>"))
        d.cpuset = "0"
        #expect(d.xml.contains("<vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='0'/><emulatorpin cpuset='0'/>"))
    }

    @Test func cpuTimeMeasureSubstitutesItsStep() throws {
        let step = Step.measure(MeasureStep(name: "hog_cpu", unit: "s",
                                            source: .cpuTime(vm: "hog", during: .exec(vm: "hog", command: "sleep ${t}",
                                                                                      timeoutSeconds: 60, allowFailure: false))))
        #expect(step.vms == ["hog", "hog"])
        let m = try #require(try step.substituted(["t": "3"]).as(MeasureStep.self))
        let source = try #require(m.source as? CPUTimeMeasure)
        #expect(source.vm == "hog")
        #expect(source.during.as(ExecStep.self)?.command == "sleep 3")
    }
}
