import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Libvirt
import Runner
import Testing
import VMLabSupport

/// A VM that boots a kernel from the student's workspace (`boot:`), through the real
/// binary. Debian's cloud kernel stands in for a student-built one (scripts/setup.sh
/// fetches it and makes an initrd of its modules, never installing it): the guest must
/// reach the agent under it and report its release. A file that is no kernel fails the
/// start with a sentence naming it, and leaves nothing behind.
extension RealHost {
@Suite(.serialized)
struct KernelBootTests {
    /// The cloud kernel and its initrd that scripts/setup.sh keeps (release, folder).
    static func cloudKernel() throws -> (release: String, folder: URL) {
        let cache = URL(fileURLWithPath: ProcessInfo.processInfo.environment["VMLAB_CACHE"] ?? "/var/cache/vmlab")
            .appendingPathComponent("cloud-kernel")
        let releases = ((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).sorted()
        guard let release = releases.last(where: {
            FileManager.default.fileExists(atPath: cache.appendingPathComponent("\($0)/vmlinuz").path)
                && FileManager.default.fileExists(atPath: cache.appendingPathComponent("\($0)/initrd").path)
        }) else {
            Issue.record("no cloud kernel under \(cache.path): run `sudo scripts/setup.sh` (make test does)")
            throw VMLabError(.notFound, "cloud kernel missing")
        }
        return (release, cache.appendingPathComponent(release))
    }

    /// A course of its own: the base image and a one-VM lab whose VM boots the workspace's kernel.
    static func course() throws -> URL {
        try IntegrationEnvironment.oneLabCourse("kboot", yaml: """
            title: kboot
            summary: a VM booting the student's kernel
            image: base
            vms:
              box: {memory: 384M, boot: {kernel: bzImage, initrd: initrd.img, cmdline: "vmlab_student_arg=1"}}
            workspace: {}
            artifacts:
              bzImage: {workspace: bzImage}
              initrd.img: {workspace: initrd.img}
            experiments:
              release:
                steps:
                  - measure: {name: cloud_kernel, unit: bool, vm: box, command: "uname -r | grep -c -- -cloud-amd64"}
              probe:
                steps:
                  - copy-workspace: {vm: box, to: /root/ws}
                  - measure: {name: copied, unit: files, vm: box, command: "ls /root/ws | wc -l"}
            """)
    }

    /// A grading replay boots the kernel handed in with the submission (its workspace is made
    /// of the bundle's artifacts), in fresh guests, and removes them after.
    @Test func aReplayBootsTheHandedInKernel() async throws {
        let cloud = try Self.cloudKernel()
        let home = try IntegrationEnvironment.makeHome()
        let courseRoot = try Self.course()
        defer {
            try? FileManager.default.removeItem(at: home.root)
            try? FileManager.default.removeItem(at: courseRoot)
        }
        let connection = try IntegrationEnvironment.connect()
        let runner = LabRunner(home: home, store: try Store(home: home), connection: connection)
        let course = Course(layout: CourseLayout(root: courseRoot), runner: runner, accelerator: .tcg)
        let lab = try course.lab("kboot")
        let image = try await course.image(for: lab)
        let accelerator = try await IntegrationEnvironment.accelerator(home: home)
        let artifacts = ["bzImage": try Data(contentsOf: cloud.folder.appendingPathComponent("vmlinuz")),
                         "initrd.img": try Data(contentsOf: cloud.folder.appendingPathComponent("initrd"))]
        let outcome = try await Coursework(runner: runner, catalog: course.catalog).replay(
            ReplayRequest(checkID: "own-kernel", experiment: "release", parameters: [:], artifacts: artifacts),
            lab: lab, image: image, accelerator: accelerator)
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.measurements.first { $0.name == "cloud_kernel" }?.value == 1, "the replay ran the handed-in kernel")

        // A bundle whose "kernel" is text: the replay fails at the start, saying so.
        var forged = artifacts
        forged["bzImage"] = Data("#!/bin/sh\n".utf8)
        await #expect(throws: VMLabError.self) {
            _ = try await Coursework(runner: runner, catalog: course.catalog).replay(
                ReplayRequest(checkID: "own-kernel", experiment: "release", parameters: [:], artifacts: forged),
                lab: lab, image: image, accelerator: accelerator)
        }
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }

    @Test func aVMBootsTheWorkspacesKernelAndANonKernelFailsClearly() async throws {
        let cloud = try Self.cloudKernel()
        let home = try IntegrationEnvironment.makeHome()
        let course = try Self.course()
        let fm = FileManager.default
        let workspace = course.appendingPathComponent("my-workspace")
        try fm.createDirectory(at: workspace, withIntermediateDirectories: true)
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "kboot"], home: home, course: course)
            try? fm.removeItem(at: home.root)
            try? fm.removeItem(at: course)
        }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home, course: course)
        }
        // The image is built first so the timed start below is the boot, not the build.
        let built = try await vmlab("image", "build", "base")
        #expect(built.status == 0, "\(built.stderr)")

        // A shell script named bzImage: refused before libvirt sees it, nothing left behind.
        try Data("#!/bin/sh\necho not a kernel\n".utf8).write(to: workspace.appendingPathComponent("bzImage"))
        try fm.copyItem(at: cloud.folder.appendingPathComponent("initrd"), to: workspace.appendingPathComponent("initrd.img"))
        let refused = try await vmlab("lab", "start", "kboot", "--workspace", workspace.path)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(workspace.path)/bzImage is not an x86 Linux kernel (no HdrS boot header"),
                "\(refused.stderr)")
        #expect(try Store(home: home).activeInstances(lab: "kboot").isEmpty)
        #expect((try? fm.contentsOfDirectory(atPath: home.instances.path))?.isEmpty ?? true, "no instance folder is left")
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)

        // The cloud kernel, standing in for one the student built.
        try fm.removeItem(at: workspace.appendingPathComponent("bzImage"))
        try fm.copyItem(at: cloud.folder.appendingPathComponent("vmlinuz"), to: workspace.appendingPathComponent("bzImage"))
        try Data("hello\n".utf8).write(to: workspace.appendingPathComponent("notes.txt"))
        let clock = ContinuousClock.now
        let started = try await vmlab("lab", "start", "kboot", "--workspace", workspace.path)
        let seconds = (ContinuousClock.now - clock).seconds
        #expect(started.status == 0, "\(started.stderr)")
        print("kernel-boot: lab start with the cloud kernel to the agent and the baseline took \(shortNumber(seconds)) s")

        let uname = try await vmlab("exec", "kboot", "box", "--", "uname", "-r")
        #expect(uname.status == 0, "\(uname.stderr)")
        #expect(uname.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == cloud.release)
        let cmdline = try await vmlab("exec", "kboot", "box", "--", "cat", "/proc/cmdline")
        #expect(cmdline.stdout.contains("root=/dev/vda") && cmdline.stdout.contains("vmlab.hostname=box"),
                "vmlab's own arguments are kept: \(cmdline.stdout)")
        #expect(cmdline.stdout.hasSuffix("vmlab_student_arg=1\n") || cmdline.stdout.contains(" vmlab_student_arg=1"),
                "the student's are appended: \(cmdline.stdout)")

        // Started with --workspace, run without it: the instance remembers the folder (the
        // default ./kboot-workspace does not exist). The boot files are not copied in.
        let run = try await vmlab("run", "kboot", "probe")
        #expect(run.status == 0, "\(run.stderr)")
        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "kboot").first)
        #expect(instance.workspace == workspace.standardizedFileURL.path)
        #expect(try store.measurements(instance: instance.id).first { $0.name == "copied" }?.value == 1)

        #expect(try await vmlab("lab", "stop", "kboot").status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }
}
}
