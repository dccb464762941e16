import Foundation
import LabStore
import Runner
import Testing
import VMLabSupport

extension RealHost {
/// What setup wrote survives a restore from the saved baseline, on the root disk and on a
/// data disk with a file system (vmlab formats it at boot), and the guest's file systems
/// report no errors. A one-VM lab of its own.
@Suite struct BaselineRestoreTests {
    @Test func setupsWritesComeBackOnEveryDisk() async throws {
        let home = try IntegrationEnvironment.makeHome()
        let course = home.root.appendingPathComponent("course")
        try FileManager.default.createDirectory(at: course.appendingPathComponent("Labs/keep"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: course.appendingPathComponent("Images"),
                                                   withDestinationURL: IntegrationEnvironment.repository.appendingPathComponent("Images"))
        try """
        title: Setup's writes
        summary: Writes on the root and a data disk during setup.
        image: base
        vms:
          box:
            memory: 256M
            disks:
              - {name: data, size: 64M, filesystem: ext4}
        setup:
          - exec: {vm: box, command: "mkdir -p /mnt/data && mount /dev/vdb /mnt/data && echo root-ok > /root/marker && echo data-ok > /mnt/data/marker && mkdir /mnt/data/tree && seq 1 2000 | sed 's|^|/mnt/data/tree/f|' | xargs touch"}
        experiments:
          look:
            steps:
              - measure: {name: files, unit: files, vm: box, command: "ls /mnt/data/tree | wc -l"}
        """.write(to: course.appendingPathComponent("Labs/keep/lab.yaml"), atomically: true, encoding: .utf8)
        var environment = try await IntegrationEnvironment.environment(home: home)
        environment["VMLAB_COURSE"] = course.path
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            let result = try await Subprocess.run([IntegrationEnvironment.vmlabBinary.path] + args,
                                                  environment: environment, check: false)
            return (result.status, result.stdout, result.stderr)
        }
        defer {
            _ = try? Subprocess.runBlocking([IntegrationEnvironment.vmlabBinary.path, "lab", "stop", "keep"],
                                            environment: environment, check: false)
            try? FileManager.default.removeItem(at: home.root)
        }

        let cold = try await vmlab("lab", "start", "keep")
        try #require(cold.status == 0, "\(cold.stderr)")
        #expect(cold.stderr.contains("baseline saved"), "\(cold.stderr)")
        #expect(try await vmlab("lab", "stop", "keep").status == 0)

        let warm = try await vmlab("lab", "start", "keep")
        try #require(warm.status == 0, "\(warm.stderr)")
        #expect(warm.stderr.contains("restored from its saved baseline"), "\(warm.stderr)")
        let look = try await vmlab("exec", "keep", "box", "--", "sh", "-c",
                                   "cat /root/marker /mnt/data/marker; ls /mnt/data/tree | wc -l; dmesg | grep -ci 'ext4-fs error' || true")
        #expect(look.stdout.split(separator: "\n") == ["root-ok", "data-ok", "2000", "0"], "\(look.stdout) \(look.stderr)")
        let run = try await vmlab("run", "keep", "look")
        #expect(run.status == 0 && run.stdout.contains("2000"), "\(run.stdout) \(run.stderr)")
        #expect(try await vmlab("lab", "stop", "keep").status == 0)
        #expect(try IntegrationEnvironment.leftovers(try IntegrationEnvironment.connect(), home: home).isEmpty)
    }
}
}
