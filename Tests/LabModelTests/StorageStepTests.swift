import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// A lab with VMs `src` and `dst`, each with disks `data` (64M) and `acks` (1M), `other`
/// with a 128M `data`, and parameter `mode`; steps start on line 13.
func storageLab(_ steps: String) -> String {
    """
    title: T
    summary: S
    image: base
    parameters: {mode: {type: choice, values: [crash, filesystem, application], default: crash}, q: {type: string, default: "true"}}
    vms:
      src: {disks: [{name: data, size: 64M, filesystem: ext4}, {name: acks, size: 1M}]}
      dst: {disks: [{name: data, size: 64M}, {name: acks, size: 1M}]}
      other: {disks: [{name: data, size: 128M}]}
    experiments:
      e:
        steps:
    \(steps.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"))

    """
}

/// The storage step kinds and the host measure: how they read, what they refuse, what they
/// ask of the lab.
struct StorageStepTests {
    func errors(_ steps: String) throws -> [String] {
        try labErrors(storageLab(steps)).map { "\($0.field): \($0.message)" }
    }

    func steps(_ yaml: String) throws -> [Step] {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("x", storageLab(yaml))
        return try LabSpec.load(url, imagesDirectory: course.images).experiments[0].steps
    }

    @Test func goodStepsLoad() throws {
        let loaded = try steps("""
        - freeze: src
        - freeze: {vm: src, timeout: 5}
        - thaw: src
        - disk-snapshot: {vm: src, name: point, disks: [data, acks]}
        - disk-snapshot: {vm: src, name: q, disks: [data], quiesce: true, timeout: 10}
        - disk-snapshot: {vm: src, name: m, disks: [data], quiesce: {when: "${mode}", in: [filesystem, application]}}
        - disk-snapshot: {vm: src, name: p, disks: [data], quiesce: "${q}"}
        - restore-disk: {from: src, snapshot: point, disks: [data, acks], into: dst}
        - measure: {name: cached, unit: MiB, host: page-cache, vm: src, disk: data}
        - measure: {name: root_cached, unit: MiB, host: page-cache, vm: src, disk: root}
        - measure: {name: flushes, unit: requests, host: flushes, vm: src, disk: acks}
        - measure: {name: guest_cache, unit: MiB, host: guest-disk-caches, vm: dst}
        - measure: {name: dirty, unit: MiB, host: host-dirty}
        """)
        #expect(loaded.map(\.kind) == ["freeze", "freeze", "thaw", "disk-snapshot", "disk-snapshot", "disk-snapshot",
                                        "disk-snapshot", "restore-disk", "measure", "measure", "measure", "measure", "measure"])
        #expect(loaded[1].as(FreezeStep.self)?.timeoutSeconds == 5)
        #expect(loaded[5].as(DiskSnapshotStep.self)?.quiesceIn == ["filesystem", "application"])
        #expect((loaded[12].as(MeasureStep.self)?.source as? HostMeasure)?.reading == .hostDirty)
    }

    @Test func badStepsNameTheirFieldAndLine() throws {
        let found = try errors("""
        - disk-snapshot: {vm: src, name: point, disks: [data, logs]}
        - disk-snapshot: {vm: src, name: point}
        - disk-snapshot: {vm: src, name: Bad_Name, disks: [data]}
        - disk-snapshot: {vm: src, name: x, disks: [data], quiesce: maybe}
        - restore-disk: {from: src, snapshot: point, disks: [data], into: src}
        - restore-disk: {from: src, snapshot: point, disks: [data], into: other}
        - restore-disk: {from: src, snapshot: point, disks: [acks], into: other}
        - measure: {name: a, unit: MiB, host: page-cache, vm: src}
        - measure: {name: b, unit: MiB, host: host-cached, vm: src}
        - measure: {name: c, unit: MiB, host: uptime}
        - measure: {name: d, unit: MiB, host: page-cache, vm: src, disk: logs}
        - freeze: {vm: nobody}
        """)
        let expected = [
            "experiments.e.steps[0].disk-snapshot.disks: VM src has no data disk 'logs' (disks: data, acks)",
            "experiments.e.steps[1].disk-snapshot.disks: is required: the data disks to copy, by name",
            "experiments.e.steps[2].disk-snapshot.name: 'Bad_Name' must be lowercase letters, digits and dashes, starting with a letter",
            "experiments.e.steps[3].disk-snapshot.quiesce: expected true or false, got 'maybe'",
            "experiments.e.steps[4].restore-disk.into: restore into another VM than src: a fresh VM boots from the copy while src runs on",
            "experiments.e.steps[5].restore-disk.disks: disk data is 134217728 bytes on other but 67108864 on src; give both the same size",
            "experiments.e.steps[6].restore-disk.disks: VM other has no data disk 'acks' (disks: data)",
            "experiments.e.steps[7].measure.host: page-cache is about one disk: add `disk: NAME` (or `disk: root`)",
            "experiments.e.steps[8].measure.vm: host-cached is a host counter, not about one VM; leave out vm",
            "experiments.e.steps[9].measure.host: unknown host reading 'uptime' (known: page-cache, read-mib, write-mib, flushes, guest-disk-caches, guest-unused, rss, host-cached, host-dirty, host-writeback)",
            "experiments.e.steps[10].measure.disk: VM src has no disk 'logs' (disks: root, data, acks)",
            "experiments.e.steps[11].freeze.vm: unknown VM 'nobody' (VMs: src, dst, other)",
        ]
        for line in expected { #expect(found.contains(line), "missing: \(line)\nfound: \(found.joined(separator: "\n"))") }
    }

    @Test func quiesceFollowsTheParameterAtRunTime() async throws {
        let step = DiskSnapshotStep(vm: "src", name: "p", disks: ["data"], quiesce: "${mode}")
        var member = step
        member.quiesceIn = ["filesystem", "application"]
        for (mode, expected) in [("crash", false), ("filesystem", true), ("application", true)] {
            let lab = FakeLab()
            try await lab.execute(Step(try member.substituted(["mode": mode])))
            #expect(lab.calls == ["src disk-snapshot p data quiesce=\(expected)"])
        }
        // A bare ${param} must come out true or false; anything else is refused before acting.
        let lab = FakeLab()
        await #expect(throws: StepProblem.self) { try await lab.execute(Step(try step.substituted(["mode": "crash"]))) }
        #expect(lab.calls.isEmpty)
    }

    @Test func stepsAskTheLabForWhatTheyDo() async throws {
        let lab = FakeLab()
        for step: Step in [.freeze(vm: "a", timeoutSeconds: 9), .thaw(vm: "a"), .diskSnapshot(vm: "a", name: "s", disks: ["d", "e"], quiesce: true),
                           .restoreDisk(from: "a", snapshot: "s", disks: ["d"], into: "b"),
                           .measure(MeasureStep(name: "c", unit: "MiB", source: HostMeasure(reading: .pageCache, vm: "a", disk: "d")))] {
            try await lab.execute(step)
        }
        #expect(lab.calls == ["a freeze 9", "a thaw", "a disk-snapshot s d,e quiesce=true", "a restore s d into b", "host page-cache a d"])
        #expect(lab.recorded.map(\.value) == [42])
    }
}
