import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// Options every command that touches guests accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("connect"), help: "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system).")
    var connectURI: String?

    @Option(help: "Accelerator: auto (prove KVM works, else TCG), kvm or tcg. Default: $VMLAB_ACCEL, config, auto.")
    var accel: String?

    @Option(help: "Folder holding Images/ (and Labs/, Grading/). Default: $VMLAB_COURSE, else the nearest one above the current folder.")
    var course: String?

    @Flag(help: "Start labs cold: boot and run setup every time, neither restoring nor saving baselines. Also $VMLAB_BASELINES=off.")
    var cold = false

    var home: VMLabHome { VMLabHome.fromEnvironment() }

    func store() throws -> Store { try Store(home: home) }

    /// `--connect`, else `$LIBVIRT_DEFAULT_URI`, else qemu:///system.
    var uri: String { LibvirtHost.uri(flag: connectURI) }

    func guests() throws -> GuestManager {
        try GuestManager(home: home, store: store(), uri: uri, progress: Output.reporter)
    }

    func acceleratorSetting() throws -> AcceleratorSetting { try AcceleratorSetting.resolve(flag: accel, home: home) }

    func accelerator() async throws -> Accelerator {
        let verdict = try await AcceleratorProbe(home: home).choose(try acceleratorSetting(), progress: Output.reporter)
        return verdict.accelerator
    }

    /// The course folder: where Images/ lives.
    func courseDirectory() throws -> URL {
        try CourseLocator.find(flag: course)
    }
}

/// Finds the course folder (the one with Images/, Labs/, Grading/).
enum CourseLocator {
    static func find(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let explicit = flag ?? environment["VMLAB_COURSE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let url = URL(fileURLWithPath: explicit, isDirectory: true)
            guard CourseLayout.isCourse(url) else {
                throw VMLabError(.notFound, "\(url.path) has no Images/ folder; point --course at a vmlab course folder")
            }
            return url
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        while true {
            if CourseLayout.isCourse(dir) { return dir }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw VMLabError(.notFound, "no Images/ folder here or above; run vmlab inside a course folder or pass --course DIR")
    }
}

extension GlobalOptions {
    func catalog() throws -> LabCatalog { LabCatalog(layout: try courseLayout()) }

    func courseLayout() throws -> CourseLayout { CourseLayout(root: try courseDirectory()) }

    func runner() throws -> LabRunner { try runner(at: uri) }

    /// A runner on the libvirt host at `uri`.
    func runner(at uri: String, store: Store? = nil) throws -> LabRunner {
        var runner = try LabRunner(home: home, store: store ?? self.store(), uri: uri, progress: Output.reporter)
        runner.host = uri
        runner.useBaselineCache = useBaselines
        return runner
    }

    /// Whether starts use saved baselines: not with --cold or $VMLAB_BASELINES=off.
    var useBaselines: Bool { !cold && ProcessInfo.processInfo.environment["VMLAB_BASELINES"] != "off" }

    /// The lab's running instance and a runner on the host it runs on (the one a host pool
    /// placed it on, else this process's host).
    func placedInstance(_ lab: String) throws -> (runner: LabRunner, instance: InstanceRecord) {
        let store = try store()
        let instance = try activeInstance(lab, store: store)
        return (try runner(at: instance.host ?? uri, store: store).matching(instance), instance)
    }

    /// The lab's running instance, or an error saying how to start it.
    func activeInstance(_ lab: String, store: Store) throws -> InstanceRecord {
        guard let instance = try store.activeInstances(lab: lab).first else {
            throw VMLabError(.invalidState, "lab \(lab) is not started; start it with `vmlab lab start \(lab)`")
        }
        return instance
    }

    /// The course with its runner: labs, images, accelerator.
    func openCourse() throws -> Course {
        Course(layout: try courseLayout(), runner: try runner(), accelerator: try acceleratorSetting())
    }

    /// The image a lab needs, built (or found in the cache) from the course's recipe.
    func image(for lab: LabSpec) async throws -> BuiltImage { try await openCourse().image(for: lab) }
}

extension GlobalOptions {
    /// `[guest]` or `[lab, vm]` -> that VM's agent client.
    func agent(for target: [String]) throws -> GuestAgent {
        switch target.count {
        case 1: return try guests().agent(target[0])
        case 2:
            let (runner, instance) = try placedInstance(target[0])
            return try runner.agent(of: instance, vm: target[1])
        default: throw ValidationError("name a guest, or a lab and one of its VMs")
        }
    }

    /// `[guest]` or `[lab, vm]` -> that VM's serial console.
    func console(for target: [String]) throws -> GuestConsole {
        switch target.count {
        case 1: return try guests().console(target[0])
        case 2:
            let (runner, instance) = try placedInstance(target[0])
            return try runner.console(of: instance, vm: target[1])
        default: throw ValidationError("name a guest, or a lab and one of its VMs")
        }
    }
}

extension GlobalOptions {
    func coursework() throws -> Coursework { Coursework(runner: try runner(), catalog: try catalog()) }

    /// The course secret per-student parameters derive from ($VMLAB_COURSE_SECRET, else a
    /// file in the vmlab home created on first use).
    func courseSecret() throws -> Data {
        try StudentParameters.secret(from: ProcessInfo.processInfo.environment, home: home.root)
    }
}
