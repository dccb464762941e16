import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab lab list|show|start|status|reset|stop`.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "Start, inspect, reset and stop labs.",
        subcommands: [List.self, Show.self, Start.self, Status.self, Reset.self, Stop.self, Schema.self, Reference.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the course's labs.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let catalog = try global.catalog()
            var rows: [[String]] = []
            for name in catalog.names() {
                do {
                    let lab = try catalog.load(name)
                    rows.append([name, lab.title, lab.experiments.map(\.name).joined(separator: ", ")])
                } catch {
                    rows.append([name, "INVALID: run `vmlab lab show \(name)`", ""])
                }
            }
            Output.table(["LAB", "TITLE", "EXPERIMENTS"], rows)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a lab: its VMs, networks, parameters and experiments.")
        @Argument(help: "Lab name (Labs/NAME).") var lab: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let spec = try global.catalog().load(lab)
            Output.line("\(spec.name): \(spec.title)")
            Output.line(spec.summary)
            Output.line("\nimage: \(spec.image)")
            for vm in spec.vms {
                let disks = vm.disks.map { "\($0.name) \($0.sizeBytes >> 20) MiB\($0.filesystem.map { " " + $0 } ?? "")" }
                let nics = vm.nics.map { "\($0.network)\($0.address.map { " " + $0 } ?? "")" }
                Output.line("vm \(vm.name): \(vm.memoryMiB) MiB, \(vm.vcpus) vCPU"
                    + (disks.isEmpty ? "" : "; disks: " + disks.joined(separator: ", "))
                    + (nics.isEmpty ? "" : "; nics: " + nics.joined(separator: ", "))
                    + (vm.boot.map { "; boots your workspace's " + $0.files.joined(separator: " and ") } ?? ""))
            }
            for net in spec.networks {
                switch net.kind {
                case .isolated: Output.line("network \(net.name): isolated bridge")
                case .outside: Output.line("network \(net.name): outside segment, bridge \(net.address.map { "\($0)" } ?? "")")
                case .nat(let outside):
                    Output.line("network \(net.name): NAT bridge \(net.address.map { "\($0)" } ?? ""), translating to \(outside) only")
                }
            }
            if !spec.parameters.isEmpty {
                Output.line("")
                Output.table(["PARAMETER", "DEFAULT", "ALLOWED", "DESCRIPTION"], spec.parameters.map { p in
                    let allowed: String = switch p.kind {
                    case let .int(min, max): "\(min.map(String.init) ?? "")..\(max.map(String.init) ?? "")"
                    case let .number(min, max): "\(min.map { "\($0)" } ?? "")..\(max.map { "\($0)" } ?? "")"
                    case let .choice(values): values.joined(separator: "|")
                    case .string: "text"
                    }
                    return [p.name, p.defaultValue + (p.unit.map { " " + $0 } ?? ""), allowed,
                            (p.description ?? "") + (p.perStudent ? " (per student)" : "")]
                })
            }
            Output.line("")
            for e in spec.experiments {
                Output.line("experiment \(e.name) (\(e.steps.count) steps): \(e.description)")
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a lab: build its image if needed, create and boot its VMs, take the baseline snapshot.")
        @Argument(help: "Lab name.") var lab: String
        @Option(name: .customLong("student-key"), help: ArgumentHelp(
            "Your student key file (from `vmlab course keys`); your per-student values derive from it.", valueName: "file"))
        var studentKey: String?
        @Option(help: ArgumentHelp(
            "Student id. Alone, values derive from the course secret on this machine (a course run on one machine).",
            valueName: "id"))
        var student: String?
        @OptionGroup var pool: PoolOptions
        @OptionGroup var workspace: WorkspaceOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try workspace.prepare(for: try global.catalog().load(lab))
            let identity = try identity { try global.courseSecret() }
            let course: Course
            if let pool = try pool.pool(global) {
                // Placed on a host of the pool; later commands find it there (the instance records it).
                let needs = PooledReplays.needs(try global.catalog().load(lab))
                let lease = try await pool.acquire(guests: needs.guests, memoryBytes: needs.memoryBytes)
                Output.progress("\(lab): placed on host \(lease.host.name) (\(lease.host.uri))")
                var runner = LabRunner(home: global.home, store: try global.store(), connection: lease.connection,
                                       progress: Output.reporter).on(lease.connection, host: lease.host)
                runner.useBaselineCache = global.useBaselines
                course = Course(layout: try global.courseLayout(), runner: runner, accelerator: try global.acceleratorSetting())
            } else {
                course = try global.openCourse()
            }
            let started = try await course.start(lab, for: identity, workspace: workspace.directory(for: try global.catalog().load(lab)))
            for (name, value) in started.studentValues.sorted(by: { $0.key < $1.key }) {
                Output.progress("\(name) = \(value) (yours)")
            }
            Output.line("\(started.lab.name) \(started.instance.id) ready")
        }

        /// The student the flags name: the key file's (`--student`, if also given, must match),
        /// else `--student` with the course secret, else nobody (every parameter at its default).
        func identity(secret: () throws -> Data) throws -> StudentIdentity? {
            if let studentKey {
                let key = try StudentKeyFile.read(URL(fileURLWithPath: studentKey))
                if let student, student != key.student {
                    throw VMLabError(.invalidInput, "--student \(student) does not match \(studentKey), the key of student \(key.student)")
                }
                return .key(key)
            }
            guard let student else { return nil }
            if let problem = studentIDProblem(student) {
                throw ValidationError("--student '\(student)': \(problem)")
            }
            return .secret(student: student, secret: try secret())
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show started labs and the state of their VMs.")
        @Argument(help: "Lab name (all started labs when omitted).") var lab: String?
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let store = try global.store()
            let instances = try store.activeInstances(lab: lab)
            // A runner per host the instances run on (a pool may have placed them apart).
            var runners: [String: LabRunner] = [:]
            if instances.isEmpty {
                Output.progress(lab.map { "lab \($0) is not started" } ?? "no lab is started")
                return
            }
            var rows: [[String]] = []
            for instance in instances {
                guard let spec = try? global.catalog().load(instance.lab) else { continue }
                let host = instance.host ?? global.uri
                if runners[host] == nil { runners[host] = try global.runner(at: host, store: store) }
                for (vm, state) in runners[host]!.vmStates(of: instance, lab: spec) {
                    rows.append([instance.lab, instance.id, instance.state.rawValue, vm, state,
                                 "\(try store.runs(instance: instance.id).count)"])
                }
            }
            Output.table(["LAB", "INSTANCE", "STATE", "VM", "VM STATE", "RUNS"], rows)
            for instance in instances where !instance.fixed.isEmpty {
                Output.line("\(instance.lab) for \(instance.student ?? "?"): "
                    + instance.fixed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revert every VM of a lab to its baseline snapshot (seconds, not a reboot).")
        @Argument(help: "Lab name.") var lab: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let spec = try global.catalog().load(lab)
            let (runner, instance) = try global.placedInstance(lab)
            try await runner.reset(spec, instance: instance)
            Output.line("\(lab) reset to baseline")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a lab and remove its VMs, networks and disks (results stay).")
        @Argument(help: "Lab name.") var lab: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let (runner, instance) = try global.placedInstance(lab)
            try runner.stop(instance)
            Output.line("\(lab) stopped")
        }
    }
}
