import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// Each step kind run against a fake lab: what it asks of the VMs and what it records.
struct StepKindRunTests {
    func run(_ step: Step, _ lab: FakeLab = FakeLab()) async throws -> FakeLab {
        try await lab.execute(step)
        return lab
    }

    @Test func vmStepsCallTheirVM() async throws {
        let lab = FakeLab()
        for step: Step in [.crash(vm: "a"), .start(vm: "a"), .shutdown(vm: "a"), .waitForAgent(vm: "a", timeoutSeconds: 7),
                           .snapshot(vm: "a", name: "s1"), .revert(vm: "a", name: "s1"), .link(vm: "a", nic: 1, up: false),
                           .setCPU(vm: "a", shares: "512", period: nil, quota: "-1"), .setMemory(vm: "a", mebibytes: "= 512 / 2.5")] {
            try await lab.execute(step)
        }
        #expect(lab.calls == ["a power cut", "a start", "a shutdown", "a wait 7", "a snapshot s1", "a revert s1",
                              "a link 1 down", "a cpu 512 - -1", "a memory 205"])
    }

    @Test func shutdownThatDoesNotFinishFails() async {
        await #expect(throws: VMLabError.self) { _ = try await run(.shutdown(vm: "stuck")) }
    }

    @Test func execFailsOnNonZeroExitUnlessAllowed() async throws {
        let lab = FakeLab(replies: ["false": execResult("", exit: 1, err: "nope")])
        await #expect(throws: VMLabError.self) { try await lab.execute(.exec(vm: "a", command: "false")) }
        try await lab.execute(.exec(vm: "a", command: "false", allowFailure: true))
    }

    @Test func copyInReadsTheLabFileAndCopyOutKeepsAnArtifact() async throws {
        let lab = FakeLab(files: ["files/ws.sh": Data("#!/bin/sh\n".utf8)])
        try await lab.execute(.copyIn(vm: "a", from: "files/ws.sh", to: "/usr/local/bin/ws"))
        try await lab.execute(.copyOut(vm: "a", from: "/etc/rules", name: "rules.nft"))
        #expect(lab.calls == ["a install 10 /usr/local/bin/ws", "a read /etc/rules"])
        #expect(lab.artifacts["rules.nft"] == Data("contents of /etc/rules".utf8))
    }

    @Test func runTimeValuesAreCheckedByTheSameCodeAsLoadTime() async throws {
        // Values that only a run's parameters produce: the step refuses them before acting.
        for step: Step in [.sleep(seconds: "0"), .sleep(seconds: "= 2 * 3600"), .setMemory(vm: "a", mebibytes: "= 512 / 1024"),
                           .setCPU(vm: "a", shares: "lots", period: nil, quota: nil), .copyOut(vm: "a", from: "/x", name: "../x"),
                           .copyIn(vm: "a", from: "f", to: "relative")] {
            #expect(throws: StepProblem.self, "\(step)") { try step.body.check() }
        }
        let lab = FakeLab()
        await #expect(throws: StepProblem.self) { try await lab.execute(.setMemory(vm: "a", mebibytes: "0")) }
        #expect(lab.calls.isEmpty)
    }

    @Test func parallelRunsEveryStep() async throws {
        let lab = try await run(.parallel([.start(vm: "a"), .start(vm: "b"), .parallel([.crash(vm: "c")])]))
        #expect(Set(lab.calls) == ["a start", "b start", "c power cut"])
    }

    @Test func measuresRecordNameValueAndUnit() async throws {
        let lab = FakeLab(replies: ["count": execResult(" 182.5\n")], parameters: ["ws": "4"])
        try await lab.execute(.measure(MeasureStep(name: "files", unit: "count", source: .command(vm: "a", command: "count"))))
        try await lab.execute(.measure(MeasureStep(name: "per_ws", unit: "count", source: .expression(try Formula("files / ws")))))
        try await lab.execute(.measure(MeasureStep(name: "busy", unit: "s", source: .cpuTime(vm: "a", during: .start(vm: "a")))))
        #expect(lab.recorded.map(\.name) == ["files", "per_ws", "busy"])
        #expect(lab.recorded.map(\.value) == [182.5, 182.5 / 4, 1.0])  // the fake clock ticks 0.5 s a call
        #expect(lab.recorded.map(\.unit) == ["count", "count", "s"])
    }

    @Test func aDurationTimesItsStep() async throws {
        let lab = try await run(.measure(MeasureStep(name: "t", unit: "s", source: .duration(.sleep(seconds: "0.05")))))
        let t = try #require(lab.recorded.first?.value)
        #expect(t >= 0.05 && t < 120, "a loaded 2-core runner can delay a wake-up, never advance it")
    }
}

/// How a command measure turns a command's result into a number.
struct CommandMeasureTests {
    func value(_ extract: CommandMeasure.Extract, _ result: ExecResult) async throws -> Double {
        let lab = FakeLab(replies: ["c": result])
        try await lab.execute(.measure(MeasureStep(name: "m", unit: "u", source: .command(vm: "box", command: "c", extract: extract))))
        return try #require(lab.recorded.first?.value)
    }

    @Test func plainNumber() async throws {
        #expect(try await value(.number, execResult(" 182.5\n")) == 182.5)
    }

    @Test func plainNumberFailsOnTextStatusOrNonFinite() async {
        for result in [execResult("n/a"), execResult("3", exit: 1), execResult("nan"), execResult("inf")] {
            await #expect(throws: VMLabError.self) { _ = try await value(.number, result) }
        }
    }

    @Test func regexCaptureGroup() async throws {
        let r = execResult("real 0m1.5s\nops: 172 bogo-ops/s\n")
        #expect(try await value(.regex("ops: ([0-9.]+)"), r) == 172)
        #expect(try await value(.regex("[0-9]+"), r) == 0)
        await #expect(throws: VMLabError.self) { _ = try await value(.regex("nothing (\\d+)"), r) }
    }

    @Test func matchesIsOneOrZeroAndSeesStderr() async throws {
        #expect(try await value(.matches("recovery complete"), execResult("EXT4-fs (vdb): recovery complete")) == 1)
        #expect(try await value(.matches("recovery complete"), execResult("mounted")) == 0)
        #expect(try await value(.matches("denied"), execResult("", exit: 1, err: "permission denied")) == 1)
    }

    @Test func exitCodeIsTheValue() async throws {
        #expect(try await value(.exitCode, execResult("", exit: 4)) == 4)
        #expect(try await value(.exitCode, execResult("", exit: 0)) == 0)
    }

    @Test func anInvalidPatternIsAProblemOfItsField() {
        let step = Step.measure(MeasureStep(name: "m", unit: "u", source: .command(vm: "b", command: "c", extract: .regex("(("))))
        #expect(throws: StepProblem("regex", "'((' is not a valid regular expression: missing ')' at character 3")) {
            try step.body.check()
        }
    }

    @Test func detailNamesTheVMAndAction() {
        #expect(Step.crash(vm: "box").detail == "box: power cut")
        #expect(Step.parallel([.start(vm: "a"), .start(vm: "b")]).detail == "parallel: a: start | b: start")
    }
}
