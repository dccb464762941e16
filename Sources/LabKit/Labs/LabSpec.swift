import Foundation

/// A lab as its author wrote it in Labs/NAME/lab.yaml, validated: every reference
/// (VM, network, disk, parameter) points at something declared.
public struct LabSpec: Sendable, Equatable {
    public var name: String
    public var title: String
    public var summary: String
    /// Image recipe name (Images/NAME.yaml).
    public var image: String
    public var parameters: [ParameterSpec]
    public var networks: [NetworkSpec]
    public var vms: [VMSpec]
    /// Steps run once after boot and addressing, before the baseline snapshot.
    public var setup: [Step]
    public var experiments: [ExperimentSpec]
    /// Files a student hands in from the guests (a ruleset, a config); grading replays apply them.
    public var artifacts: [ArtifactSpec]
    /// Where the lab was read from (Labs/NAME/lab.yaml).
    public var source: URL

    public init(name: String, title: String, summary: String, image: String, parameters: [ParameterSpec],
                networks: [NetworkSpec], vms: [VMSpec], setup: [Step], experiments: [ExperimentSpec], source: URL,
                artifacts: [ArtifactSpec] = []) {
        self.artifacts = artifacts
        self.name = name
        self.title = title
        self.summary = summary
        self.image = image
        self.parameters = parameters
        self.networks = networks
        self.vms = vms
        self.setup = setup
        self.experiments = experiments
        self.source = source
    }

    public func vm(_ name: String) -> VMSpec? { vms.first { $0.name == name } }
    public func experiment(_ name: String) -> ExperimentSpec? { experiments.first { $0.name == name } }
    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
    /// Every parameter at its default value.
    public var defaultValues: [String: String] {
        Dictionary(parameters.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { a, _ in a })
    }

    /// The measure names of an experiment in the order the lab declares them.
    public func measureNames(of experiment: String) -> [String] {
        func names(_ step: Step) -> [String] {
            switch step {
            case .parallel(let steps): return steps.flatMap(names)
            case .measure(let m):
                switch m.source {
                case .duration(let inner), .cpuTime(_, let inner): return names(inner) + [m.name]
                case .command, .expression: return [m.name]
                }
            default: return []
            }
        }
        return self.experiment(experiment)?.steps.flatMap(names) ?? []
    }

    /// `measurements` run by run and, within a run, in the order the lab declares its
    /// measures: parallel steps record in whatever order they finish, and tables and
    /// reports take their columns from the order they see.
    public func inDeclaredOrder(_ measurements: [Measurement]) -> [Measurement] {
        var rank: [String: [String: Int]] = [:]
        for e in experiments {
            rank[e.name] = Dictionary(measureNames(of: e.name).enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        }
        return measurements.enumerated().sorted { a, b in
            if a.element.runID != b.element.runID { return a.element.runID < b.element.runID }
            let ra = rank[a.element.experiment]?[a.element.name] ?? Int.max
            let rb = rank[b.element.experiment]?[b.element.name] ?? Int.max
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }
}

/// A knob of the lab that experiments substitute as `${name}`.
public struct ParameterSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A whole number within `min...max` (either bound optional).
        case int(min: Int?, max: Int?)
        /// A number within `min...max`.
        case number(min: Double?, max: Double?)
        /// One of the listed values.
        case choice([String])
        /// Free text.
        case string
    }

    public var name: String
    public var kind: Kind
    /// Always valid for `kind`: checked when the lab is loaded.
    public var defaultValue: String
    public var unit: String?
    public var description: String?
    /// The value derives from the course secret and the student id (grading issue).
    public var perStudent: Bool

    public init(name: String, kind: Kind, defaultValue: String, unit: String? = nil, description: String? = nil,
                perStudent: Bool = false) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.unit = unit
        self.description = description
        self.perStudent = perStudent
    }

    /// nil when `value` is acceptable, else why not (for messages such as "--set commit=abc").
    public func problem(with value: String) -> String? {
        switch kind {
        case let .int(min, max):
            guard let n = Int(value) else { return "expected a whole number, got '\(value)'" }
            if let min, n < min { return "\(n) is below the minimum \(min)" }
            if let max, n > max { return "\(n) is above the maximum \(max)" }
        case let .number(min, max):
            guard let n = Double(value) else { return "expected a number, got '\(value)'" }
            if let min, n < min { return "\(value) is below the minimum \(min)" }
            if let max, n > max { return "\(value) is above the maximum \(max)" }
        case .choice(let values):
            if !values.contains(value) { return "'\(value)' is not one of \(values.joined(separator: ", "))" }
        case .string:
            break
        }
        return nil
    }
}

/// A file in a guest that a submission carries and a grading replay puts back.
public struct ArtifactSpec: Sendable, Equatable {
    /// File name in the bundle (no slashes).
    public var name: String
    public var vm: String
    /// Absolute path in the guest.
    public var path: String

    public init(name: String, vm: String, path: String) {
        self.name = name
        self.vm = vm
        self.path = path
    }
}

/// An isolated lab network: a bridge with no forward mode and no host address.
public struct NetworkSpec: Sendable, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct VMSpec: Sendable, Equatable {
    public var name: String
    public var memoryMiB: Int
    public var vcpus: Int
    public var disks: [DiskSpec]
    public var nics: [NICSpec]
    /// Host CPUs (libvirt cpuset syntax, "0" or "0-1") the VM's vCPUs and emulator threads
    /// are pinned to: pinning several VMs to one CPU makes them compete for it.
    public var cpuset: String?

    public init(name: String, memoryMiB: Int = 512, vcpus: Int = 1, disks: [DiskSpec] = [], nics: [NICSpec] = [],
                cpuset: String? = nil) {
        self.cpuset = cpuset
        self.name = name
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.disks = disks
        self.nics = nics
    }
}

/// An extra disk: vdb, vdc, ... in declaration order. With a filesystem it is formatted
/// once at lab start (before the baseline snapshot); without, it stays blank.
public struct DiskSpec: Sendable, Equatable {
    public var name: String
    public var sizeBytes: UInt64
    /// ext4, ext3, ext2, xfs... or nil for a blank disk.
    public var filesystem: String?

    public init(name: String, sizeBytes: UInt64, filesystem: String? = nil) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.filesystem = filesystem
    }
}

/// A NIC on a lab network, eth0, eth1, ... in declaration order.
public struct NICSpec: Sendable, Equatable {
    public var network: String
    /// CIDR, e.g. 198.18.0.10/24; nil leaves the NIC unaddressed.
    public var address: String?

    public init(network: String, address: String? = nil) {
        self.network = network
        self.address = address
    }
}

public struct ExperimentSpec: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Revert every VM to the baseline snapshot before each run (default true).
    public var revertBeforeRun: Bool
    public var steps: [Step]

    public init(name: String, description: String = "", revertBeforeRun: Bool = true, steps: [Step]) {
        self.name = name
        self.description = description
        self.revertBeforeRun = revertBeforeRun
        self.steps = steps
    }
}

/// One step of a setup or an experiment. Text fields may hold `${parameter}` references,
/// substituted just before the step runs.
public indirect enum Step: Sendable, Equatable {
    /// Run a shell command line (`sh -c`) in a VM; a non-zero exit fails the run unless `allowFailure`.
    case exec(vm: String, command: String, timeoutSeconds: Int, allowFailure: Bool)
    /// virDomainDestroy: the power cut, nothing flushed.
    case crash(vm: String)
    /// Start a VM and wait for its agent.
    case start(vm: String)
    /// Clean power-off through the agent.
    case shutdown(vm: String)
    /// Wait until the VM's agent answers.
    case waitForAgent(vm: String, timeoutSeconds: Int)
    case snapshot(vm: String, name: String)
    case revert(vm: String, name: String)
    /// Runtime CPU tuning; nil fields are left as they are. Values may be `${param}` text.
    case setCPU(vm: String, shares: String?, period: String?, quota: String?)
    /// Balloon target (`memory`) in MiB text, may be `${param}`.
    case setMemory(vm: String, mebibytes: String)
    case link(vm: String, nic: Int, up: Bool)
    /// Host file (relative to the lab folder) into the guest.
    case copyIn(vm: String, from: String, to: String)
    /// Guest file out to the run's artifacts, under `name`.
    case copyOut(vm: String, from: String, name: String)
    /// Host time: seconds, `${param}` or `= arithmetic` (after substitution).
    case sleep(seconds: String)
    /// Steps started together; the group ends when all have.
    case parallel([Step])
    case measure(MeasureSpec)

    /// The VMs a step touches (for validation).
    public var vms: [String] {
        switch self {
        case let .exec(vm, _, _, _), let .crash(vm), let .start(vm), let .shutdown(vm), let .waitForAgent(vm, _),
             let .snapshot(vm, _), let .revert(vm, _), let .setCPU(vm, _, _, _), let .setMemory(vm, _),
             let .link(vm, _, _), let .copyIn(vm, _, _), let .copyOut(vm, _, _):
            return [vm]
        case .sleep:
            return []
        case .parallel(let steps):
            return steps.flatMap(\.vms)
        case .measure(let m):
            switch m.source {
            case let .command(vm, _, _, _): return [vm]
            case .duration(let step): return step.vms
            case let .cpuTime(vm, step): return [vm] + step.vms
            case .expression: return []
            }
        }
    }

    /// The step's kind as written in lab.yaml.
    public var kind: String {
        switch self {
        case .exec: "exec"
        case .crash: "crash"
        case .start: "start"
        case .shutdown: "shutdown"
        case .waitForAgent: "wait-for-agent"
        case .snapshot: "snapshot"
        case .revert: "revert"
        case .setCPU: "set-cpu"
        case .setMemory: "set-memory"
        case .link: "link"
        case .copyIn: "copy-in"
        case .copyOut: "copy-out"
        case .sleep: "sleep"
        case .parallel: "parallel"
        case .measure: "measure"
        }
    }
}

/// A named value recorded from a run.
public struct MeasureSpec: Sendable, Equatable {
    public enum Extract: Sendable, Equatable {
        /// The trimmed output is the number.
        case number
        /// The first capture group of the regex (or the whole match) is the number.
        case regex(String)
        /// 1 when the output matches the regex, else 0.
        case matches(String)
        /// The command's exit status is the value.
        case exitCode
    }

    public enum Source: Sendable, Equatable {
        /// Run a command in a VM and extract the value from its output.
        case command(vm: String, command: String, extract: Extract, timeoutSeconds: Int)
        /// The host-side wall time of a step, in seconds.
        case duration(Step)
        /// The vCPU time (seconds) a VM was given by the host while a step ran: contention
        /// seen from the host, which works under TCG where guests report no steal time.
        case cpuTime(vm: String, during: Step)
        /// Arithmetic over measures taken earlier in the same run and the run's parameters
        /// (`swap_a + swap_b`): an aggregate gets its own column and plot.
        case expression(Expression)
    }

    public var name: String
    public var unit: String
    public var source: Source

    public init(name: String, unit: String, source: Source) {
        self.name = name
        self.unit = unit
        self.source = source
    }
}
