import Foundation
import VMLabSupport

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
    /// Files a student hands in from the guests (a ruleset, a config) or from the workspace
    /// (a module's source); grading replays apply them.
    public var artifacts: [ArtifactSpec]
    /// The host folder the student edits, if the lab has one (`--workspace DIR`).
    public var workspace: WorkspaceSpec?
    /// Where the lab was read from (Labs/NAME/lab.yaml).
    public var source: URL

    public init(name: String, title: String, summary: String, image: String, parameters: [ParameterSpec],
                networks: [NetworkSpec], vms: [VMSpec], setup: [Step], experiments: [ExperimentSpec], source: URL,
                artifacts: [ArtifactSpec] = [], workspace: WorkspaceSpec? = nil) {
        self.artifacts = artifacts
        self.workspace = workspace
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
    public func network(_ name: String) -> NetworkSpec? { networks.first { $0.name == name } }
    public func experiment(_ name: String) -> ExperimentSpec? { experiments.first { $0.name == name } }
    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
    /// A NIC on a nat network reaches the outside network through the nat bridge, and
    /// only it: the route `198.18.10.0/24 via 198.18.20.1` (never a default route). nil for
    /// a NIC on any other kind of network.
    public func outsideRoute(for nic: NICSpec) -> String? {
        guard let net = network(nic.network), case .nat(let outsideName) = net.kind,
              let gateway = net.address, let outside = network(outsideName)?.address else { return nil }
        return "\(outside.subnet) via \(gateway.host)"
    }

    /// Whether a VM boots a kernel from the student's workspace (`boot:`). Such a lab starts
    /// cold every time (a saved baseline holds the memory of a kernel the next build
    /// replaces), needs a workspace, and its bundles carry the kernel, so they get larger
    /// limits (`Submission.Limits.bootingLab`).
    public var bootsWorkspaceKernel: Bool { vms.contains { $0.boot != nil } }

    /// Every parameter at its default value.
    public var defaultValues: [String: String] {
        Dictionary(parameters.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { a, _ in a })
    }

    /// The measure names of an experiment in the order the lab declares them.
    public func measureNames(of experiment: String) -> [String] {
        self.experiment(experiment).map { Self.measureNames(of: $0.steps) } ?? []
    }

    /// The measure names of `steps`, nested steps first (a timed step's own measures come
    /// before the timing).
    public static func measureNames(of steps: [Step]) -> [String] {
        steps.flatMap { step in
            measureNames(of: step.body.nested) + (step.as(MeasureStep.self).map { [$0.name] } ?? [])
        }
    }

    /// `measurements` run by run and, within a run, in the order the lab declares its
    /// measures: parallel steps record in whatever order they finish, and tables and
    /// reports take their columns from the order they see.
    public func inDeclaredOrder(_ measurements: [RunMeasurement]) -> [RunMeasurement] {
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

    /// nil when `value` is acceptable, else why not (for messages such as "parameter commit=abc: ...").
    public func problem(with value: String) -> String? {
        switch kind {
        case let .int(min, max):
            guard let n = Int(value) else { return "expected a whole number, got '\(value)'" }
            if let min, n < min { return "\(n) is below the minimum \(min)" }
            if let max, n > max { return "\(n) is above the maximum \(max)" }
        case let .number(min, max):
            guard let n = Double(value), n.isFinite else { return "expected a finite number, got '\(value)'" }
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

/// A file that a submission carries and a grading replay puts back: from a guest (`vm`,
/// `path`) or from the student's workspace (`workspaceFile`).
public struct ArtifactSpec: Sendable, Equatable {
    /// File name in the bundle (no slashes).
    public var name: String
    /// The guest it is taken from (empty for a workspace artifact).
    public var vm: String
    /// Absolute path in the guest (empty for a workspace artifact).
    public var path: String
    /// The workspace file it is taken from; a replay's workspace is made of these.
    public var workspaceFile: String?

    public init(name: String, vm: String, path: String) {
        self.name = name
        self.vm = vm
        self.path = path
    }

    public init(name: String, workspaceFile: String) {
        self.name = name
        self.vm = ""
        self.path = ""
        self.workspaceFile = workspaceFile
    }

    /// Whether it comes from the workspace rather than a guest.
    public var fromWorkspace: Bool { workspaceFile != nil }
}

extension LabSpec {
    /// A replay's or reference solution's workspace: the handed-in workspace artifacts under
    /// their workspace file names. Nil when the lab has no workspace.
    /// Boot files (`WorkspaceSpec.bootFiles`) are kept apart, as a folder's are.
    public func workspace(fromArtifacts artifacts: [String: Data]) -> Workspace? {
        guard let spec = workspace else { return nil }
        var files: [String: Data] = [:], bootFiles: [String: Data] = [:]
        for artifact in self.artifacts {
            guard let file = artifact.workspaceFile, let data = artifacts[artifact.name] else { continue }
            if spec.bootFiles.contains(file) { bootFiles[file] = data } else { files[file] = data }
        }
        return Workspace(files: files, bootFiles: bootFiles)
    }
}

/// A lab network. All kinds live in the lab's network namespace; none reaches the
/// machine's own network.
public struct NetworkSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A bridge with no forward mode and no host address: its guests see only each other.
        case isolated
        /// A segment playing the outside world (a campus LAN): the bridge has an address,
        /// which NAT networks translate their guests to, and no firewall rules of libvirt's.
        case outside
        /// A NAT bridge: its guests reach the named outside network, and only it, from the
        /// outside bridge's address; nothing outside reaches in unless it answers them.
        case nat(outside: String)

        /// The word lab.yaml uses.
        public var name: String {
            switch self {
            case .isolated: "isolated"
            case .outside: "outside"
            case .nat: "nat"
            }
        }
    }

    public static let kindNames = ["isolated", "nat", "outside"]

    public var name: String
    public var kind: Kind
    /// The bridge's own address in the namespace (outside and nat networks; nil for isolated).
    public var address: IPv4Network?

    public init(name: String, kind: Kind = .isolated, address: IPv4Network? = nil) {
        self.name = name
        self.kind = kind
        self.address = address
    }
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
    /// A kernel (and initrd, command line) from the workspace to boot instead of the image's.
    public var boot: BootSpec?

    public init(name: String, memoryMiB: Int = 512, vcpus: Int = 1, disks: [DiskSpec] = [], nics: [NICSpec] = [],
                cpuset: String? = nil, boot: BootSpec? = nil) {
        self.cpuset = cpuset
        self.boot = boot
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
    /// The host cache mode (none, writeback, writethrough, directsync, unsafe), or nil for
    /// QEMU's default.
    public var cache: String?

    public init(name: String, sizeBytes: UInt64, filesystem: String? = nil, cache: String? = nil) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.filesystem = filesystem
        self.cache = cache
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
