import Foundation
import Libvirt

/// A ready (or starting) lab instance with its libvirt handles: executes steps on its VMs
/// and records each as an event.
struct LabSession: Sendable {
    let lab: LabSpec
    let instance: InstanceRecord
    let runner: LabRunner
    let domains: [String: Domain]

    /// The run a step belongs to, for measurements and artifacts (nil during setup).
    typealias RunContext = (id: Int64, experiment: String, plan: RunPlan)

    init(lab: LabSpec, instance: InstanceRecord, runner: LabRunner) throws {
        self.lab = lab
        self.instance = instance
        self.runner = runner
        var domains: [String: Domain] = [:]
        for vm in lab.vms {
            let name = Naming.labDomain(lab: lab.name, instance: instance.id, vm: vm.name)
            guard let domain = runner.connection.lookupDomain(named: name) else {
                throw VMLabError(.notFound, "lab \(lab.name): VM \(vm.name) (domain \(name)) is gone from libvirt; "
                    + "stop the lab with `vmlab lab stop \(lab.name)` and start it again")
            }
            domains[vm.name] = domain
        }
        self.domains = domains
    }

    func domain(_ vm: String) throws -> Domain {
        guard let d = domains[vm] else { throw VMLabError(.notFound, "lab \(lab.name) has no VM '\(vm)'") }
        return d
    }

    func agent(_ vm: String) throws -> GuestAgent {
        GuestAgent(guest: "\(lab.name)/\(vm)", transport: LibvirtAgentTransport(domain: try domain(vm)))
    }

    /// Runs `body` for every VM concurrently.
    func forEachVM(_ body: @escaping @Sendable (VMSpec, Domain) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for vm in lab.vms {
                let domain = try self.domain(vm.name)
                group.addTask { try await body(vm, domain) }
            }
            try await group.waitForAll()
        }
    }

    // MARK: boot

    /// Starts every VM, waits for the agents, gives static addresses and formats disks.
    func bootAll() async throws {
        let started = ContinuousClock.now
        try await forEachVM { vm, domain in
            try await offPool { try domain.start() }
            try await self.afterBoot(vm)
            let fs = vm.disks.enumerated().filter { $0.element.filesystem != nil }
            for (i, disk) in fs {
                let device = "/dev/\(LabRunner.diskTarget(i + 1))"
                let command = disk.filesystem == "swap" ? "mkswap \(device)" : "mkfs -t \(disk.filesystem!) -q \(device) </dev/null"
                let result = try await self.agent(vm.name).shell(command, timeout: .seconds(300))
                guard result.exitCode == 0 else {
                    throw VMLabError(.failed, "formatting disk \(disk.name) of \(vm.name) failed: \(result.stderrText.suffix(300))")
                }
            }
        }
        runner.progress(String(format: "\(lab.name): all VMs answer (%.1f s)", (ContinuousClock.now - started).seconds))
    }

    /// After any boot: wait for the agent, then bring the NICs up with their addresses.
    func afterBoot(_ vm: VMSpec) async throws {
        let agent = try self.agent(vm.name)
        try await agent.waitUntilReady(timeout: runner.bootTimeout)
        var commands: [String] = []
        for (i, nic) in vm.nics.enumerated() {
            if let address = nic.address { commands.append("ip addr replace \(address) dev eth\(i)") }
            commands.append("ip link set eth\(i) up")
        }
        guard !commands.isEmpty else { return }
        let result = try await agent.shell(commands.joined(separator: " && "), timeout: .seconds(30))
        guard result.exitCode == 0 else {
            throw VMLabError(.failed, "configuring the network of \(vm.name) failed: \(result.stderrText.suffix(300))")
        }
    }

    /// Back to the baseline snapshot on every VM, agents answering.
    func revertAll() async throws {
        let started = ContinuousClock.now
        try await forEachVM { vm, domain in
            try await offPool { try domain.revert(to: try domain.snapshot(named: LabRunner.baseline)) }
            try await self.agent(vm.name).waitUntilReady(timeout: self.runner.bootTimeout)
        }
        runner.progress(String(format: "\(lab.name): reverted to baseline (%.1f s)", (ContinuousClock.now - started).seconds))
    }

    // MARK: steps

    /// Runs steps in order, substituting parameters; the first failing step ends the list.
    func execute(_ steps: [Step], values: [String: String], run: RunContext?) async throws {
        for step in steps {
            try await execute(try step.substituted(values), run: run)
        }
    }

    /// Runs one (already substituted) step and records it as an event.
    func execute(_ step: Step, run: RunContext?) async throws {
        let started = Date()
        let clock = ContinuousClock.now
        var output: String?
        do {
            output = try await perform(step, run: run)
            try record(step, started: started, seconds: (ContinuousClock.now - clock).seconds, ok: true, output: output, run: run)
        } catch {
            try? record(step, started: started, seconds: (ContinuousClock.now - clock).seconds, ok: false,
                        output: "\(error)", run: run)
            throw error
        }
    }

    private func record(_ step: Step, started: Date, seconds: Double, ok: Bool, output: String?, run: RunContext?) throws {
        try runner.store.recordEvent(EventRecord(
            id: nil, instance: instance.id, run: run?.id, kind: step.kind, vm: step.vms.first,
            detail: Self.describe(step), startedAt: started, seconds: seconds, ok: ok,
            output: output.map { String($0.suffix(2000)) }))
    }

    /// Does the work of a step; returns output worth keeping in the event log.
    private func perform(_ step: Step, run: RunContext?) async throws -> String? {
        switch step {
        case let .exec(vm, command, timeout, allowFailure):
            let result = try await agent(vm).shell(command, timeout: .seconds(timeout))
            let text = result.stdoutText + result.stderrText
            if result.exitCode != 0 && !allowFailure {
                throw VMLabError(.failed, "\(vm): `\(command)` exited with status \(result.exitCode): \(result.stderrText.suffix(500))")
            }
            return text
        case .crash(let vm):
            let d = try domain(vm)
            try await offPool { try d.destroy() }
            return nil
        case .start(let vm):
            let d = try domain(vm)
            try await offPool { try d.start() }
            try await afterBoot(try spec(vm))
            return nil
        case .shutdown(let vm):
            guard try await domain(vm).shutDownAndWait(timeout: .seconds(60)) else {
                throw VMLabError(.timeout, "\(vm) did not power off within 60 s")
            }
            return nil
        case let .waitForAgent(vm, timeout):
            try await agent(vm).waitUntilReady(timeout: .seconds(timeout))
            return nil
        case let .snapshot(vm, name):
            let d = try domain(vm)
            _ = try await offPool { try d.createSnapshot(name: name) }
            return nil
        case let .revert(vm, name):
            let d = try domain(vm)
            try await offPool { try d.revert(to: try d.snapshot(named: name)) }
            if try d.isActive() { try await agent(vm).waitUntilReady(timeout: runner.bootTimeout) }
            return nil
        case let .setCPU(vm, shares, period, quota):
            func number<T: LosslessStringConvertible>(_ text: String?, _ field: String) throws -> T? {
                guard let text else { return nil }
                guard let n = T(text.trimmingCharacters(in: .whitespaces)) else {
                    throw VMLabError(.invalidInput, "set-cpu \(field) of \(vm): '\(text)' is not a number")
                }
                return n
            }
            let params = SchedulerParameters(cpuShares: try number(shares, "shares"), vcpuPeriod: try number(period, "period"),
                                             vcpuQuota: try number(quota, "quota"))
            let d = try domain(vm)
            try await offPool { try d.setSchedulerParameters(params, live: true) }
            return nil
        case let .setMemory(vm, mebibytes):
            let mib: UInt64
            if let value = try arithmeticValue(mebibytes) {
                guard value >= 1, value < 1e9 else {
                    throw VMLabError(.invalidInput, "set-memory of \(vm): '\(mebibytes)' gives \(shortNumber(value)) MiB")
                }
                mib = UInt64(value.rounded())
            } else {
                guard let n = UInt64(mebibytes.trimmingCharacters(in: .whitespaces)) else {
                    throw VMLabError(.invalidInput, "set-memory of \(vm): '\(mebibytes)' is not a number of MiB")
                }
                mib = n
            }
            let d = try domain(vm)
            try await offPool { try d.setMemory(kibibytes: mib * 1024, live: true) }
            return nil
        case let .link(vm, nic, up):
            let d = try domain(vm)
            let mac = Naming.mac(instance: instance.id, vm: vm, nic: nic)
            try await offPool { try d.setInterfaceLinkState(mac: mac, up: up) }
            return nil
        case let .copyIn(vm, from, to):
            let source = lab.source.deletingLastPathComponent().appendingPathComponent(from)
            let data: Data
            do { data = try Data(contentsOf: source) } catch {
                throw VMLabError(.notFound, "copy-in: cannot read \(source.path)", cause: error)
            }
            try await agent(vm).install(data, at: to)
            return "\(data.count) bytes"
        case let .copyOut(vm, from, name):
            let agent = try agent(vm)
            let data = try await offPool { try agent.readFile(from) }
            let dir = runner.artifactsDirectory(instance.id, run: run?.id ?? 0)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try data.write(to: dir.appendingPathComponent(name))
            return "\(data.count) bytes -> \(dir.appendingPathComponent(name).path)"
        case .sleep(let text):
            guard let seconds = try numberValue(text),
                  seconds > 0, seconds <= LabSpec.maxSleepSeconds else {
                throw VMLabError(.invalidInput, "sleep '\(text)': expected seconds above 0 and at most \(Int(LabSpec.maxSleepSeconds))")
            }
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        case .parallel(let steps):
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in steps { group.addTask { try await self.execute(s, run: run) } }
                try await group.waitForAll()
            }
            return nil
        case .measure(let m):
            return try await measure(m, run: run)
        }
    }

    private func measure(_ m: MeasureSpec, run: RunContext?) async throws -> String? {
        let value: Double
        var output: String?
        switch m.source {
        case let .duration(step):
            let clock = ContinuousClock.now
            try await execute(step, run: run)
            value = (ContinuousClock.now - clock).seconds
        case let .cpuTime(vm, step):
            let d = try domain(vm)
            let before = try d.vcpuTimeNanoseconds()
            try await execute(step, run: run)
            value = Double(try d.vcpuTimeNanoseconds() &- before) / 1e9
        case .expression(let expression):
            value = try evaluate(expression, measure: m.name, run: run)
        case let .command(vm, command, extract, timeout):
            let result = try await agent(vm).shell(command, timeout: .seconds(timeout))
            output = result.stdoutText + result.stderrText
            value = try Self.extract(extract, from: result, measure: m.name, vm: vm)
        }
        if let run {
            try runner.store.recordMeasurement(
                Measurement(runID: run.id, experiment: run.experiment, name: m.name, value: value, unit: m.unit,
                            parameters: run.plan.parameters, repetition: run.plan.repetition, takenAt: Date()),
                instance: instance.id)
        }
        return "\(m.name) = \(value) \(m.unit)" + (output.map { "\n" + $0 } ?? "")
    }

    /// A measure derived from the ones this run already took and its numeric parameters.
    private func evaluate(_ expression: Expression, measure: String, run: RunContext?) throws -> Double {
        var variables: [String: Double] = [:]
        for (name, text) in run?.plan.parameters ?? [:] { variables[name] = Double(text) }
        if let run {
            for m in try runner.store.measurements(instance: instance.id, run: run.id) {
                variables[m.name] = m.value
            }
        }
        do {
            return try expression.evaluate(variables)
        } catch {
            throw VMLabError(.failed, "measure \(measure) = \(expression.text): \(error)")
        }
    }

    /// Turns a command's result into the measured number.
    static func extract(_ extract: MeasureSpec.Extract, from result: ExecResult, measure: String, vm: String) throws -> Double {
        let text = result.stdoutText
        func fail(_ why: String) -> VMLabError {
            VMLabError(.failed, "measure \(measure) on \(vm): \(why); output was: \(text.suffix(300))"
                + (result.stderr.isEmpty ? "" : " stderr: \(result.stderrText.suffix(300))"))
        }
        switch extract {
        case .exitCode:
            return Double(result.exitCode)
        case .matches(let pattern):
            let regex = try NSRegularExpression(pattern: pattern)
            let all = text + result.stderrText
            return regex.firstMatch(in: all, range: NSRange(all.startIndex..., in: all)) == nil ? 0 : 1
        case .number:
            guard result.exitCode == 0 else { throw fail("the command exited with status \(result.exitCode)") }
            guard let n = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw fail("the output is not a number") }
            return n
        case .regex(let pattern):
            let regex = try NSRegularExpression(pattern: pattern)
            guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else {
                throw fail("no match for /\(pattern)/")
            }
            let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
            guard let r = Range(range, in: text), let n = Double(text[r].trimmingCharacters(in: .whitespaces)) else {
                throw fail("the match of /\(pattern)/ is not a number")
            }
            return n
        }
    }

    private func spec(_ vm: String) throws -> VMSpec {
        guard let s = lab.vm(vm) else { throw VMLabError(.notFound, "lab \(lab.name) has no VM '\(vm)'") }
        return s
    }

    /// One line saying what a step did, for the event log.
    static func describe(_ step: Step) -> String {
        switch step {
        case let .exec(vm, command, _, _): "\(vm): \(command)"
        case let .crash(vm): "\(vm): power cut"
        case let .start(vm): "\(vm): start"
        case let .shutdown(vm): "\(vm): shutdown"
        case let .waitForAgent(vm, _): "\(vm): wait for agent"
        case let .snapshot(vm, name): "\(vm): snapshot \(name)"
        case let .revert(vm, name): "\(vm): revert to \(name)"
        case let .setCPU(vm, s, p, q): "\(vm): cpu shares=\(s ?? "-") period=\(p ?? "-") quota=\(q ?? "-")"
        case let .setMemory(vm, m): "\(vm): memory \(m) MiB"
        case let .link(vm, nic, up): "\(vm): eth\(nic) link \(up ? "up" : "down")"
        case let .copyIn(vm, from, to): "\(vm): copy \(from) -> \(to)"
        case let .copyOut(vm, from, name): "\(vm): copy \(from) -> artifact \(name)"
        case let .sleep(s): "sleep \(s) s"
        case let .parallel(steps): "parallel: " + steps.map(describe).joined(separator: " | ")
        case let .measure(m): "measure \(m.name) [\(m.unit)]"
        }
    }
}
