import Foundation
import Grading
import Guests
import LabModel
import Testing
import VMLabSupport

extension RealHost {
/// Two real libvirt hosts on this machine (scripts/two-hosts.sh: two network namespaces
/// joined by a veth pair, a libvirtd each): a batch of bundles is graded with
/// `--replay --jobs 2` across both, host b's libvirtd is killed mid-batch, and the batch
/// still grades every student once, with the totals of serial grading on one host.
/// The hosts see nothing of the vmlab home (`storage: pool`, /tmp hidden from them): the
/// image reaches each through libvirt's storage API, uploaded once, and the overlays are
/// volumes of its pool, gone after the batch.
/// `down` leaves no namespace, daemon or folder. A one-VM lab of its own keeps it cheap.
@Suite struct HostPoolTests {
    static let script = IntegrationEnvironment.repository.appendingPathComponent("scripts/two-hosts.sh").path
    static let clientNamespace = "vmlabpool-a"
    /// Each student's answer; the replay check passes for a number of at least 10.
    static let answers: [(student: String, n: Int)] = [("s01", 12), ("s02", 3), ("s03", 20), ("s04", 7), ("s05", 42), ("s06", 15)]

    /// A course holding only the pool lab: one 256 MiB guest that echoes a number.
    func makeCourse(in root: URL) throws -> URL {
        let course = root.appendingPathComponent("course")
        let fm = FileManager.default
        try fm.createDirectory(at: course.appendingPathComponent("Labs/pooled"), withIntermediateDirectories: true)
        try fm.createDirectory(at: course.appendingPathComponent("Grading/pooled"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: course.appendingPathComponent("Images"),
                                  withDestinationURL: IntegrationEnvironment.repository.appendingPathComponent("Images"))
        try """
        title: Host pool placement
        summary: One small guest that echoes the student's number.
        image: base
        parameters:
          n: {type: int, min: 0, max: 1000, default: 1, description: the number the guest echoes}
        vms:
          box: {memory: 256M}
        experiments:
          echo:
            description: the guest echoes n
            steps:
              - measure: {name: echoed, unit: n, vm: box, command: "echo ${n}"}
        """.write(to: course.appendingPathComponent("Labs/pooled/lab.yaml"), atomically: true, encoding: .utf8)
        try """
        lab: pooled
        pass-mark: 1
        checks:
          - id: echoed
            title: in a fresh guest, the student's number comes back and is at least 10
            points: 2
            replay:
              experiment: echo
              set: {n: "${answer.n}"}
              expect: "echoed == n && n >= 10"
        """.write(to: course.appendingPathComponent("Grading/pooled/rubric.yaml"), atomically: true, encoding: .utf8)
        return course
    }

    static let scratch: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-pool-it-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Runs `argv` to its end (a SpawnedProcess: Foundation's Process once missed the exit of
    /// `two-hosts.sh up` here and the test hung on a zombie); its status and output.
    func run(_ argv: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try SpawnedProcess(argv, environment: environment, scratch: Self.scratch)
        let status = try await child.finish()
        return (status, child.stdout, child.stderr)
    }

    func twoHosts(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await run(["bash", Self.script] + args)
    }

    /// What is left of the pool on this machine: namespaces, its run folder, the cgroups
    /// libvirt made for this lab's guests (a guest whose libvirtd died keeps its own).
    func poolLeftovers() throws -> [String] {
        let fm = FileManager.default
        let namespaces = ((try? fm.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter { $0.hasPrefix("vmlabpool-") }.sorted()
        let cgroups = ((try? fm.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []).flatMap { controller in
            ((try? fm.contentsOfDirectory(atPath: "/sys/fs/cgroup/\(controller)/machine")) ?? [])
                .filter { $0.contains("-vmlab-pooled-") }.map { "/sys/fs/cgroup/\(controller)/machine/\($0)" }
        }
        return namespaces + cgroups + (fm.fileExists(atPath: "/run/vmlab-pool") ? ["/run/vmlab-pool"] : [])
    }

    @Test func aBatchGradedAcrossTwoHostsSurvivesLosingOne() async throws {
        let started = ContinuousClock.now
        let up = try await twoHosts("up")
        try #require(up.status == 0, "two-hosts.sh up: \(up.stderr)")
        let home = try IntegrationEnvironment.makeHome()
        var environment = try await IntegrationEnvironment.environment(home: home)
        environment["VMLAB_COURSE"] = try makeCourse(in: home.root).path
        defer {
            let down = try? SpawnedProcess(["bash", Self.script, "down"], scratch: Self.scratch)
            while down?.isRunning == true { usleep(100_000) }
            #expect(down?.status == 0, "two-hosts.sh down: \(down?.stderr ?? "did not start")")
            #expect((try? poolLeftovers()) == [], "down leaves nothing of the pool: \((try? poolLeftovers()) ?? [])")
            try? FileManager.default.removeItem(at: home.root)
            print("two-hosts.sh down:\n\(down?.stderr ?? "")")
            try? FileManager.default.removeItem(at: Self.scratch)
        }
        try up.stdout.write(to: home.root.appendingPathComponent(HostPoolSpec.fileName), atomically: true, encoding: .utf8)

        /// vmlab where the pool's clients live: the namespace on the hosts' link.
        func clientArgv(_ args: [String]) -> [String] {
            ["ip", "netns", "exec", Self.clientNamespace, IntegrationEnvironment.vmlabBinary.path] + args
        }
        func vmlab(_ args: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await run(clientArgv(args), environment: environment)
        }

        // The image is built here: supermin fetches packages, and the hosts' link goes nowhere.
        let image = try await run([IntegrationEnvironment.vmlabBinary.path, "image", "build", "base"], environment: environment)
        try #require(image.status == 0, "vmlab image build base: \(image.stderr)")

        let hosts = try await vmlab("hosts", "--format", "json")
        try #require(hosts.status == 0, "vmlab hosts: \(hosts.stderr)")
        let listed = try JSONSerialization.jsonObject(with: Data(hosts.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(listed.map { $0["name"] as? String } == ["pool-a", "pool-b"], "\(hosts.stdout)")
        #expect(listed.allSatisfy { $0["reachable"] as? Bool == true && ($0["freeMemoryMiB"] as? Int ?? 0) > 0
                                    && $0["storage"] as? String == "pool" && ($0["images"] as? [String]) == [] },
                "both hosts answer, pool storage, nothing uploaded yet: \(hosts.stdout)")

        // The bundles, as `vmlab submit` writes them (the rubric needs only the answer).
        let lab = try LabCatalog(layout: CourseLayout(root: URL(fileURLWithPath: environment["VMLAB_COURSE"]!))).load("pooled")
        let bundles = home.root.appendingPathComponent("bundles")
        try FileManager.default.createDirectory(at: bundles, withIntermediateDirectories: true)
        for (student, n) in Self.answers {
            let submission = Submission(lab: "pooled", student: student, labDigest: Coursework.labDigest(lab), imageDigest: "",
                                        instance: "none", runs: [], measurements: [], answers: ["n": "\(n)"], artifacts: [:])
            try submission.encoded().write(to: bundles.appendingPathComponent("\(student).json"))
        }
        let rubric = URL(fileURLWithPath: environment["VMLAB_COURSE"]!).appendingPathComponent("Grading/pooled/rubric.yaml").path

        // The batch in the background; host b's libvirtd is killed as its second replay begins.
        let batch = try SpawnedProcess(clientArgv(["grade", bundles.path, "--rubric", rubric, "--replay", "--jobs", "2",
                                                   "--format", "json"]), environment: environment, scratch: Self.scratch)
        let batchStarted = ContinuousClock.now
        var killedAt: Duration?
        var batchStatus: Int32?
        while batchStatus == nil {
            try await Task.sleep(for: .milliseconds(500))
            if !batch.isRunning { batchStatus = batch.status }
            let log = batch.stderr
            if batchStatus == nil, killedAt == nil, log.components(separatedBy: "placed on host pool-b").count - 1 >= 2 {
                // Inside its replay, not before it: a replay restored from the host's saved
                // baseline takes a few seconds in all.
                try await Task.sleep(for: .milliseconds(500))
                let stop = try await twoHosts("stop", "b")
                #expect(stop.status == 0, "two-hosts.sh stop b: \(stop.stderr)")
                killedAt = ContinuousClock.now - batchStarted
            }
            if batchStatus == nil, ContinuousClock.now - batchStarted > .seconds(1200) {
                batch.kill(SIGTERM)
                Issue.record("the batch took more than 20 minutes")
            }
        }
        let batchSeconds = (ContinuousClock.now - batchStarted).seconds
        let log = batch.stderr
        try #require(batchStatus == 0, "the pooled batch failed:\n\(log)")
        #expect(killedAt != nil, "host b never got a second replay to lose:\n\(log)")
        let pooled = try JSONDecoder().decode([GradeReport].self, from: Data(batch.stdout.utf8))

        // Every student once, each graded (no rejection, no failed replay), b's lost replay run again on a.
        #expect(pooled.map(\.student).sorted() == Self.answers.map(\.student), "\(pooled.map(\.student))")
        for report in pooled {
            #expect(report.rejected == nil, "\(report.student): \(report.rejected ?? "")")
            #expect(!(report.checks.first?.detail.contains("the replay failed") ?? true), "\(report.student): \(report.checks)")
        }
        #expect(log.contains("host pool-b lost") && log.contains("running it again on another host"), "\(log)")
        let placedA = log.components(separatedBy: "placed on host pool-a").count - 1
        let placedB = log.components(separatedBy: "placed on host pool-b").count - 1
        #expect(placedA >= 1 && placedB >= 2 && placedA + placedB == Self.answers.count + 1,
                "six replays and one again: a \(placedA), b \(placedB)")
        // A host's first replay starts cold and saves its baseline there; later ones restore it.
        let restored = log.components(separatedBy: "restored from its saved baseline").count - 1
        #expect(restored >= 1, "replays on a pool host restore its saved baseline:\n\(log)")

        // Serial grading on one host (no pool: --connect), in the same home: this machine's
        // libvirtd, a shared host, where replays restore a saved baseline of its own.
        let serialStarted = ContinuousClock.now
        let serial = try await vmlab("grade", bundles.path, "--rubric", rubric, "--replay", "--jobs", "1", "--format", "json",
                                     "--connect", IntegrationEnvironment.uri)
        try #require(serial.status == 0, "serial grading: \(serial.stderr)")
        let serialReports = try JSONDecoder().decode([GradeReport].self, from: Data(serial.stdout.utf8))
        #expect(pooled.map(\.total) == serialReports.map(\.total), "pooled \(pooled.map(\.total)), serial \(serialReports.map(\.total))")
        #expect(pooled.map(\.total) == Self.answers.map { $0.n >= 10 ? 2.0 : 0.0 })
        let timeline = log.split(whereSeparator: \.isNewline)
            .filter { $0.contains("placed on host") || $0.contains(" lost") || $0.hasPrefix("[") || $0.contains("placed per host") }
        print("host pool batch:\n  " + timeline.joined(separator: "\n  "))
        let serialSeconds = (ContinuousClock.now - serialStarted).seconds

        // Host b back (its libvirtd was killed): each pool holds the image, uploaded once per
        // host, and no instance volume is left on a (b may keep the lost replay's overlay and
        // console log: its instance ended with its host). a keeps its saved baseline's
        // volumes (a state and a disk copy per slot).
        let again = try await twoHosts("up")
        try #require(again.status == 0, "two-hosts.sh up again: \(again.stderr)")
        let after = try await vmlab("hosts", "--format", "json")
        let afterRows = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(afterRows.count == 2 && afterRows.allSatisfy { ($0["images"] as? [String] ?? []).contains { $0.hasPrefix("base@") } },
                "each host lists the uploaded image: \(after.stdout)")
        let uploads = (log + serial.stderr).split(whereSeparator: \.isNewline).filter { $0.contains("uploaded image") }
        #expect(uploads.count == 2, "the image is uploaded once per host:\n\(uploads.joined(separator: "\n"))")
        for (host, address) in [("a", "198.18.1.1"), ("b", "198.18.1.2")] {
            let list = try await run(["ip", "netns", "exec", Self.clientNamespace, "virsh", "-c",
                                      "qemu+tcp://\(address)/system", "vol-list", "vmlab-images"])
            let volumes = list.stdout.split(whereSeparator: \.isNewline).dropFirst(2)
                .compactMap { $0.split(separator: " ").first.map(String.init) }
            #expect(list.status == 0, "virsh vol-list on host \(host): \(list.stderr)")
            let image = volumes.filter { !$0.hasPrefix("vmlab-") }
            #expect(image.count == 4 && ["-disk.qcow2", "-kernel", "-initrd", "-complete"].allSatisfy { s in image.contains { $0.hasSuffix(s) } },
                    "host \(host) holds the image's three volumes and its marker: \(volumes)")
            let baselines = volumes.filter { $0.hasPrefix("vmlab-") && $0.contains("-baseline-") }
            let overlays = volumes.filter { $0.hasPrefix("vmlab-") && !$0.contains("-baseline-") }
            #expect(host == "a" ? overlays.isEmpty : overlays.count <= 2, "host \(host): instance volumes left: \(overlays)")
            #expect(host == "b" || (baselines.count >= 2 && baselines.count % 2 == 0), "host a's saved baselines: \(baselines)")
            print("host pool: host \(host) pool vmlab-images: \(volumes.joined(separator: " "))")
        }
        print("host pool: " + uploads.joined(separator: "; "))
        print("host pool: serial grading of \(Self.answers.count) students on one shared host \(String(format: "%.1f", serialSeconds)) s")
        print("host pool: batch \(String(format: "%.1f", batchSeconds)) s (host b killed at "
              + "\(String(format: "%.1f", killedAt?.seconds ?? 0)) s), placements a \(placedA), b \(placedB), "
              + "\(restored) from a saved baseline; "
              + "whole test \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s")
    }
}
}
