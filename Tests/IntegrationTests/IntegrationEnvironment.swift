import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Libvirt
import Results
import Runner
import Testing
import VMLabSupport

/// Every suite that touches the real libvirtd, one after another: they share the daemon,
/// and each asserts that nothing named vmlab is left when it is done.
@Suite(.serialized, .enabled(if: IntegrationEnvironment.enabled))
enum RealHost {}

/// The real-host environment of the integration suite: real libvirtd, real QEMU guests,
/// a vmlab home of its own. There is no silent skip: without libvirtd the tests fail,
/// saying how to start it. Only a developer can opt out, with VMLAB_SKIP_INTEGRATION=1,
/// and never on CI.
enum IntegrationEnvironment {
    static var enabled: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["CI"] == "true" || env["VMLAB_SKIP_INTEGRATION"] != "1"
    }

    static let uri = LibvirtHost.uri(flag: nil)

    /// The repository root (for Images/), found from this file's path.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A vmlab home used by this test process only.
    static func makeHome() throws -> VMLabHome {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-it-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return VMLabHome(root: root)
    }

    static func connect() throws -> Connection {
        do {
            return try LibvirtHost.connect(uri)
        } catch {
            Issue.record("libvirtd is not reachable at \(uri): run `sudo scripts/setup.sh` (make test does) — \(error)")
            throw error
        }
    }

    /// The accelerator the suite uses: $VMLAB_ACCEL or the probed verdict.
    static func accelerator(home: VMLabHome) async throws -> Accelerator {
        try await AcceleratorProbe(home: home).choose(AcceleratorSetting.resolve(flag: nil, home: home)).accelerator
    }

    /// The built `vmlab` executable next to the test bundle.
    static var vmlabBinary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("vmlab")
    }

    /// Runs the vmlab binary with a given home; returns status, stdout, stderr.
    static func vmlab(_ args: [String], home: VMLabHome, course: URL = repository) async throws -> (status: Int32, stdout: String, stderr: String) {
        guard FileManager.default.isExecutableFile(atPath: vmlabBinary.path) else {
            Issue.record("no vmlab binary at \(vmlabBinary.path); run `swift build` before `swift test` (make test does)")
            throw VMLabError(.notFound, "vmlab binary missing")
        }
        var environment = try await environment(home: home)
        environment["VMLAB_COURSE"] = course.path
        let result = try await Subprocess.run([vmlabBinary.path] + args, environment: environment, check: false)
        return (result.status, result.stdout, result.stderr)
    }

    /// What every vmlab the suite runs gets: its home, the course, and the accelerator the
    /// suite probed once (each fresh home would otherwise prove KVM again, 15 s a time).
    static func environment(home: VMLabHome) async throws -> [String: String] {
        ["VMLAB_HOME": home.root.path, "VMLAB_COURSE": repository.path, "VMLAB_ACCEL": try await suiteAccelerator.value]
    }

    /// $VMLAB_ACCEL when set, else the verdict of one probe in a home of the suite's own.
    static let suiteAccelerator = Task<String, any Error> {
        if let explicit = ProcessInfo.processInfo.environment["VMLAB_ACCEL"], !explicit.isEmpty { return explicit }
        let home = VMLabHome(root: FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-it-probe-\(getpid())"))
        defer { try? FileManager.default.removeItem(at: home.root) }
        return try await AcceleratorProbe(home: home).choose(.auto).accelerator.rawValue
    }

    /// The same, blocking: for `defer` blocks, which cannot await.
    static func vmlabSync(_ args: [String], home: VMLabHome, course: URL = repository) {
        _ = try? Subprocess.runBlocking([vmlabBinary.path] + args,
                                        environment: ["VMLAB_HOME": home.root.path, "VMLAB_COURSE": course.path],
                                        check: false)
    }

    /// libvirt domains and networks this test's vmlab home created that still exist: those
    /// of its lab instances (their ids are in every name) and its stand-alone guests
    /// (named `it...` here). Scoped so that other vmlab users of the daemon do not count.
    static func leftovers(_ connection: Connection, home: VMLabHome) throws -> [String] {
        let ids = try Store(home: home).instances().map(\.slot)
        let names = try connection.allDomains().map(\.name) + connection.allNetworks().map(\.name)
        return names.filter { name in
            name.hasPrefix(Naming.guestDomain("it")) || ids.contains { name.contains("-\($0)-") }
        }
    }
}
