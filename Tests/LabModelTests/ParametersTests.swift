import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

@Suite struct SubstitutionTests {
    @Test(arguments: [
        ("mount -o commit=${commit}", "mount -o commit=5"),
        ("${mode}/${commit}${commit}", "ordered/55"),
        ("no references", "no references"),
        ("echo $${HOME}", "echo ${HOME}"),
        ("$HOME $$ $ {x} $", "$HOME $$ $ {x} $"),
        ("cost: $${commit} = ${commit}", "cost: ${commit} = 5"),
    ])
    func substitutes(_ text: String, _ expected: String) throws {
        #expect(try substitute(text, ["commit": "5", "mode": "ordered"]) == expected)
    }

    @Test func unknownParameterIsNamed() {
        #expect {
            _ = try substitute("echo ${nope}", ["commit": "5"])
        } throws: { error in
            guard let error = error as? VMLabError else { return false }
            return error.code == .invalidInput && error.message.contains("'nope'") && error.message.contains("commit")
        }
    }

    @Test(arguments: ["echo ${commit", "echo ${}"])
    func malformedReferenceIsAnError(_ text: String) {
        #expect {
            _ = try substitute(text, ["commit": "5"])
        } throws: { error in
            (error as? VMLabError)?.code == .invalidInput
        }
    }

    @Test func substitutesEveryTextFieldOfNestedSteps() throws {
        let step = Step.parallel([
            .exec(vm: "${vm}", command: "echo ${x}", timeoutSeconds: 9, allowFailure: true),
            .setCPU(vm: "box", shares: "${x}", period: nil, quota: "-1"),
            .setMemory(vm: "box", mebibytes: "${x}"),
            .snapshot(vm: "box", name: "s${x}"),
            .revert(vm: "box", name: "s${x}"),
            .copyIn(vm: "box", from: "in/${x}", to: "/root/${x}"),
            .copyOut(vm: "box", from: "/var/${x}", name: "out-${x}"),
            .waitForAgent(vm: "${vm}", timeoutSeconds: 5),
            .crash(vm: "${vm}"), .start(vm: "${vm}"), .shutdown(vm: "${vm}"),
            .link(vm: "${vm}", nic: 1, up: false), .sleep(seconds: "2"),
            .parallel([.measure(MeasureStep(name: "m", unit: "${u}", source: .command(
                vm: "box", command: "cat ${x}", extract: .regex("v=(${x})"), timeoutSeconds: 3)))]),
            .measure(MeasureStep(name: "n", unit: "s", source: .command(
                vm: "box", command: "x", extract: .matches("${x}"), timeoutSeconds: 3))),
            .measure(MeasureStep(name: "d", unit: "s", source: .duration(.exec(
                vm: "box", command: "sleep ${x}", timeoutSeconds: 300, allowFailure: false)))),
        ])
        let expected = Step.parallel([
            .exec(vm: "box", command: "echo 7", timeoutSeconds: 9, allowFailure: true),
            .setCPU(vm: "box", shares: "7", period: nil, quota: "-1"),
            .setMemory(vm: "box", mebibytes: "7"),
            .snapshot(vm: "box", name: "s7"),
            .revert(vm: "box", name: "s7"),
            .copyIn(vm: "box", from: "in/7", to: "/root/7"),
            .copyOut(vm: "box", from: "/var/7", name: "out-7"),
            .waitForAgent(vm: "box", timeoutSeconds: 5),
            .crash(vm: "box"), .start(vm: "box"), .shutdown(vm: "box"),
            .link(vm: "box", nic: 1, up: false), .sleep(seconds: "2"),
            .parallel([.measure(MeasureStep(name: "m", unit: "ms", source: .command(
                vm: "box", command: "cat 7", extract: .regex("v=(7)"), timeoutSeconds: 3)))]),
            .measure(MeasureStep(name: "n", unit: "s", source: .command(
                vm: "box", command: "x", extract: .matches("7"), timeoutSeconds: 3))),
            .measure(MeasureStep(name: "d", unit: "s", source: .duration(.exec(
                vm: "box", command: "sleep 7", timeoutSeconds: 300, allowFailure: false)))),
        ])
        #expect(try step.substituted(["x": "7", "vm": "box", "u": "ms"]) == expected)
    }

    @Test func unknownParameterInANestedStepFails() {
        let step = Step.parallel([.measure(MeasureStep(name: "d", unit: "s", source: .duration(
            .exec(vm: "box", command: "sleep ${missing}", timeoutSeconds: 1, allowFailure: false))))])
        #expect(throws: VMLabError.self) { try step.substituted(["x": "1"]) }
    }
}

@Suite struct RunPlanTests {
    static let lab = LabSpec(
        name: "journal", title: "T", summary: "S", image: "base",
        parameters: [
            ParameterSpec(name: "mode", kind: .choice(["ordered", "writeback", "journal"]), defaultValue: "ordered"),
            ParameterSpec(name: "commit", kind: .int(min: 1, max: 300), defaultValue: "5"),
            ParameterSpec(name: "ratio", kind: .number(min: 0.5, max: 4), defaultValue: "1.5"),
            ParameterSpec(name: "port", kind: .int(min: 1024, max: 65535), defaultValue: "8080", perStudent: true),
        ],
        networks: [], vms: [], setup: [], experiments: [], source: URL(fileURLWithPath: "/labs/journal/lab.yaml"))

    static let defaults = ["mode": "ordered", "commit": "5", "ratio": "1.5", "port": "8080"]

    func values(_ changes: [String: String]) -> [String: String] {
        Self.defaults.merging(changes) { _, new in new }
    }

    /// `"name=value"` and `"name=a,b"` shorthands for typed settings and sweeps.
    func plan(_ lab: LabSpec = Self.lab, sets: [String] = [], sweeps: [String] = [], repeat count: Int = 1,
              student: [String: String] = [:]) throws -> [RunPlan] {
        try lab.plan(Self.request(sets, sweeps, count), studentValues: student)
    }

    static func request(_ sets: [String], _ sweeps: [String], _ count: Int) -> RunRequest {
        func split(_ s: String) -> (String, String) {
            let eq = s.firstIndex(of: "=")!
            return (String(s[..<eq]), String(s[s.index(after: eq)...]))
        }
        return RunRequest(settings: sets.map { let (n, v) = split($0); return ParameterSetting(n, v) },
                          sweeps: sweeps.map { let (n, v) = split($0)
                              return ParameterSweep(n, v.split(separator: ",", omittingEmptySubsequences: false).map(String.init)) },
                          repetitions: count)
    }

    @Test func defaultsOnly() throws {
        #expect(try plan() == [RunPlan(parameters: Self.defaults, repetition: 0)])
    }

    @Test func noParameters() throws {
        var lab = Self.lab
        lab.parameters = []
        #expect(try plan(lab, repeat: 2) == [RunPlan(parameters: [:], repetition: 0), RunPlan(parameters: [:], repetition: 1)])
    }

    @Test func setOverridesDefaults() throws {
        let plans = try plan(sets: ["commit=30", "mode=journal", "ratio=2"])
        #expect(plans == [RunPlan(parameters: values(["commit": "30", "mode": "journal", "ratio": "2"]), repetition: 0)])
    }

    @Test func valueMayContainEquals() throws {
        var lab = Self.lab
        lab.parameters.append(ParameterSpec(name: "opts", kind: .string, defaultValue: ""))
        let plans = try lab.plan(RunRequest(settings: [ParameterSetting("opts", "a=b,c")]))
        #expect(plans.first?.parameters["opts"] == "a=b,c")
    }

    @Test func twoSweepsAreACartesianProductInTheOrderGiven() throws {
        let plans = try plan(sets: ["ratio=3"], sweeps: ["commit=1,5,30", "mode=writeback,ordered"])
        let pairs: [[String]] = plans.map { [$0.parameters["commit"]!, $0.parameters["mode"]!] }
        #expect(pairs == [
            ["1", "writeback"], ["1", "ordered"], ["5", "writeback"], ["5", "ordered"], ["30", "writeback"], ["30", "ordered"],
        ])
        #expect(plans.allSatisfy { $0.parameters["ratio"] == "3" && $0.repetition == 0 && $0.parameters.count == 4 })
    }

    @Test func repetitionsAreConsecutive() throws {
        let plans = try plan(sweeps: ["commit=1,5"], repeat: 3)
        #expect(plans == [
            RunPlan(parameters: values(["commit": "1"]), repetition: 0),
            RunPlan(parameters: values(["commit": "1"]), repetition: 1),
            RunPlan(parameters: values(["commit": "1"]), repetition: 2),
            RunPlan(parameters: values(["commit": "5"]), repetition: 0),
            RunPlan(parameters: values(["commit": "5"]), repetition: 1),
            RunPlan(parameters: values(["commit": "5"]), repetition: 2),
        ])
    }

    @Test func studentValuesOverrideDefaults() throws {
        let plans = try plan(sets: ["commit=7"], student: ["port": "40123", "unrelated": "x"])
        #expect(plans == [RunPlan(parameters: values(["port": "40123", "commit": "7"]), repetition: 0)])
    }

    /// Messages name the parameter and the lab, never a command-line flag (the CLI adds those).
    static let errorCases: [(String, [String], [String], Int, [String: String], String)] = [
        ("bad int", ["commit=abc"], [], 1, [:], "parameter commit=abc: expected a whole number, got 'abc'"),
        ("above max", ["commit=301"], [], 1, [:], "parameter commit=301: 301 is above the maximum 300"),
        ("bad choice", ["mode=fast"], [], 1, [:], "parameter mode=fast: 'fast' is not one of ordered, writeback, journal"),
        ("bad sweep value", [], ["ratio=1,9"], 1, [:], "parameter ratio=9 of the sweep: 9 is above the maximum 4"),
        ("empty sweep value", [], ["commit=1,,5"], 1, [:], "parameter commit: sweep over one or more values, none empty"),
        ("empty sweep", [], ["commit="], 1, [:], "parameter commit: sweep over one or more values"),
        ("unknown set", ["comit=5"], [], 1, [:], "lab journal has no parameter 'comit' (parameters: mode, commit, ratio, port)"),
        ("unknown sweep", [], ["x=1,2"], 1, [:], "lab journal has no parameter 'x'"),
        ("per-student set", ["port=2000"], [], 1, [:], "parameter port is set per student"),
        ("per-student sweep", [], ["port=2000,3000"], 1, [:], "parameter port is set per student"),
        ("set and sweep", ["commit=5"], ["commit=1,2"], 1, [:], "parameter commit is given more than once"),
        ("set twice", ["commit=5", "commit=6"], [], 1, [:], "parameter commit is given more than once"),
        ("sweep twice", [], ["commit=5", "commit=6"], 1, [:], "parameter commit is given more than once"),
        ("repeat zero", [], [], 0, [:], "0 repetitions: give a count from 1 to 100"),
        ("repeat too many", [], [], 101, [:], "101 repetitions: give a count from 1 to 100"),
        ("bad student value", [], [], 1, ["port": "80"], "student value port=80: 80 is below the minimum 1024"),
    ]

    @Test(arguments: errorCases)
    func planProblems(_ name: String, _ sets: [String], _ sweeps: [String], _ repeatCount: Int,
                      _ student: [String: String], _ fragment: String) {
        #expect {
            _ = try plan(sets: sets, sweeps: sweeps, repeat: repeatCount, student: student)
        } throws: { error in
            guard let error = error as? VMLabError, error.code == .invalidInput else { return false }
            return error.message.contains(fragment) && !error.message.contains("--")
        }
    }

    @Test func arithmeticValuesStartWithAnEqualsSign() throws {
        #expect(try arithmeticValue("= 512 / 2.5") == 204.8)
        #expect(try arithmeticValue(" =max(64, 512 / 16)") == 64)
        #expect(try arithmeticValue("512") == nil)
        #expect(try arithmeticValue("${n}") == nil)
        #expect(throws: VMLabError.self) { try arithmeticValue("= 512 /") }
        #expect(throws: VMLabError.self) { try arithmeticValue("= 1 / 0") }
        #expect(throws: VMLabError.self) { try arithmeticValue("= ratio * 2") }
    }
}
