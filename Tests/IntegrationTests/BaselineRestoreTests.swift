import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import Runner
import Testing
import VMLabSupport

extension RealHost {
/// What setup wrote survives a restore from the saved baseline, on the root disk and on a
/// data disk with a file system (vmlab formats it at boot), and the guest's file systems
/// report no errors: on a shared host (files of the home) and on a pool host (volumes of
/// its storage pool, the libvirtd here with `storage: pool`). A one-VM lab of its own.
@Suite struct BaselineRestoreTests {
    /// A home with a course holding only the `keep` lab, and `vmlab` run in it.
    struct Course {
        let home: VMLabHome
        let environment: [String: String]

        init() async throws {
            home = try IntegrationEnvironment.makeHome()
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
                  - exec: {vm: box, command: "echo vmlab-console-marker-$((6 * 7)) > /dev/ttyS0"}
                  - measure: {name: files, unit: files, vm: box, command: "ls /mnt/data/tree | wc -l"}
            """.write(to: course.appendingPathComponent("Labs/keep/lab.yaml"), atomically: true, encoding: .utf8)
            var environment = try await IntegrationEnvironment.environment(home: home)
            environment["VMLAB_COURSE"] = course.path
            self.environment = environment
        }

        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            let result = try await Subprocess.run([IntegrationEnvironment.vmlabBinary.path] + args,
                                                  environment: environment, check: false)
            return (result.status, result.stdout, result.stderr)
        }

        func stopAndRemove() {
            _ = try? Subprocess.runBlocking([IntegrationEnvironment.vmlabBinary.path, "lab", "stop", "keep"],
                                            environment: environment, check: false)
            try? FileManager.default.removeItem(at: home.root)
        }

        /// Starts cold (saving the baseline), stops, starts from the baseline and checks
        /// what setup wrote; leaves the lab stopped. Returns both starts' wall times.
        func coldThenRestored() async throws -> (cold: Double, restored: Double) {
            var clock = ContinuousClock.now
            let cold = try await vmlab("lab", "start", "keep")
            try #require(cold.status == 0, "\(cold.stderr)")
            #expect(cold.stderr.contains("baseline saved"), "\(cold.stderr)")
            let coldSeconds = (ContinuousClock.now - clock).seconds
            #expect(try await vmlab("lab", "stop", "keep").status == 0)

            clock = ContinuousClock.now
            let warm = try await vmlab("lab", "start", "keep")
            try #require(warm.status == 0, "\(warm.stderr)")
            #expect(warm.stderr.contains("restored from its saved baseline"), "\(warm.stderr)")
            let warmSeconds = (ContinuousClock.now - clock).seconds
            let look = try await vmlab("exec", "keep", "box", "--", "sh", "-c",
                                       "cat /root/marker /mnt/data/marker; ls /mnt/data/tree | wc -l; dmesg | grep -ci 'ext4-fs error' || true")
            #expect(look.stdout.split(separator: "\n") == ["root-ok", "data-ok", "2000", "0"], "\(look.stdout) \(look.stderr)")
            let run = try await vmlab("run", "keep", "look")
            #expect(run.status == 0 && run.stdout.contains("2000"), "\(run.stdout) \(run.stderr)")
            // The run keeps what the guest wrote on its serial console (read back from the host).
            let artifacts = home.root.appendingPathComponent("artifacts")
            let logs = (FileManager.default.enumerator(atPath: artifacts.path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix("console-box.log") }
            let console = logs.compactMap { try? String(contentsOf: artifacts.appendingPathComponent($0), encoding: .utf8) }.joined()
            #expect(console.contains("vmlab-console-marker-42"), "the run's console artifact: \(logs) \(console.suffix(300))")
            #expect(try await vmlab("lab", "stop", "keep").status == 0)
            #expect(try IntegrationEnvironment.leftovers(try IntegrationEnvironment.connect(), home: home).isEmpty)
            return (coldSeconds, warmSeconds)
        }
    }

    @Test func setupsWritesComeBackOnEveryDisk() async throws {
        let course = try await Course()
        defer { course.stopAndRemove() }
        _ = try await course.coldThenRestored()
    }

    /// On a pool host the baseline's states and disk copies are volumes of the host's pool,
    /// named by this home and the slot; stopping leaves them and nothing of the instance;
    /// gc removes a baseline volume no entry owns and keeps the owned ones; `image rm`
    /// removes the baseline's volumes and then the upload.
    @Test func aPoolHostKeepsItsBaselineAsVolumes() async throws {
        let course = try await Course()
        let connection = try IntegrationEnvironment.connect()
        // The pool this test's home makes on the libvirtd here; a test pool, gone at the end.
        let poolPath = course.home.root.appendingPathComponent("pool").path
        let tag = HostVolumes.homeTag(try course.home.identity())
        defer {
            _ = try? Subprocess.runBlocking([IntegrationEnvironment.vmlabBinary.path, "lab", "stop", "keep"],
                                            environment: course.environment, check: false)
            if let pool = try? connection.lookupStoragePool(named: HostStorage.poolName),
               (try? pool.xmlDescription().contains(poolPath)) == true {
                for volume in (try? pool.volumes()) ?? [] { try? volume.delete() }
                try? pool.destroy()
                try? pool.undefine()
            }
            course.stopAndRemove()
        }
        // A pool an earlier run of this test left (killed before its cleanup) names a test
        // home that is gone: remove it, or this run would find it instead of making its own.
        if let stale = try connection.lookupStoragePool(named: HostStorage.poolName) {
            let xml = try stale.xmlDescription()
            if let path = xml.range(of: #"(?<=<path>)[^<]*vmlab-it-[^<]*(?=</path>)"#, options: .regularExpression).map({ String(xml[$0]) }),
               !FileManager.default.fileExists(atPath: path) {
                for volume in (try? stale.volumes()) ?? [] { try? volume.delete() }
                try? stale.destroy()
                try stale.undefine()
            }
        }
        try """
        hosts:
          - {name: here, uri: "\(IntegrationEnvironment.uri)", storage: pool, pool-path: "\(poolPath)"}
        """.write(to: course.home.root.appendingPathComponent(HostPoolSpec.fileName), atomically: true, encoding: .utf8)
        let build = try await course.vmlab("image", "build", "base")
        try #require(build.status == 0, "\(build.stderr)")
        let times = try await course.coldThenRestored()

        func volumes() throws -> [String] {
            try #require(try connection.lookupStoragePool(named: HostStorage.poolName)).volumes().map(\.name)
                .filter { $0.hasPrefix("vmlab-\(tag)-") }.sorted()
        }
        let kept = try volumes()
        let slots = Set(kept.compactMap { HostVolumes.slot(ofBaselineVolume: $0, homeTag: tag) })
        #expect(slots.count == 1 && kept.count == 3 && kept.contains { $0.hasSuffix("-box.state") }
                && kept.contains { $0.hasSuffix("-box-data.qcow2") } && kept.contains { $0.hasSuffix("-box.qcow2") },
                "one baseline, its state and two disk copies, and no instance volume: \(kept)")
        let listed = try await course.vmlab("image", "baselines")
        #expect(listed.stdout.contains(IntegrationEnvironment.uri), "the listing names the host: \(listed.stdout)")

        // A baseline volume of this home that no entry owns (a saver killed mid-way) is garbage.
        let pool = try #require(try connection.lookupStoragePool(named: HostStorage.poolName))
        try #require(try pool.xmlDescription().contains(poolPath), "the pool is this test's own")
        _ = try pool.createVolume(xml: """
            <volume><name>\(HostVolumes.baselineState(home: tag, slot: "0000dead", vm: "box"))</name>\
            <capacity>0</capacity><target><format type='raw'/></target></volume>
            """)
        let gc = try await course.vmlab("gc")
        #expect(gc.status == 0 && gc.stdout.contains("0000dead"), "\(gc.stdout) \(gc.stderr)")
        #expect(try volumes() == kept, "gc removes the unowned volume and keeps the baseline's")

        let removed = try await course.vmlab("image", "rm", "base")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try volumes().isEmpty, "image rm removes the baseline's volumes")
        #expect(try pool.volumes().map(\.name).filter { !$0.hasPrefix("vmlab-") }.isEmpty, "and then the upload")
        print(String(format: "pool-host baseline: cold start %.1f s, start from the saved baseline %.1f s (%.2f x)",
                     times.cold, times.restored, times.restored / times.cold))
    }
}
}
