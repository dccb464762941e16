import Foundation
import Guests
import LabStore
import Testing
import VMLabSupport

extension RealHost {
/// A student is root in the guest and turns against vmlab: writes 2 GB to stdout, fills
/// the disk, points an artifact at /dev/zero and kills the guest agent. Every command
/// ends with a clear error or a cut-off result, vmlab's memory stays under 256 MiB, the
/// lab recovers with a reset, and nothing is left after `lab stop`. A one-VM lab of its
/// own keeps it cheap.
@Suite struct HostileGuestTests {
    static let rssLimitKiB = 256 * 1024

    struct Outcome {
        var status: Int32
        var stdout: Data
        var stderr: String
        /// The peak resident set of the vmlab process itself (VmHWM, read while it runs).
        var maxRSSKiB: Int
        /// The same from wait4, which also counts the children vmlab waited for (qemu-img, cp).
        var withChildrenKiB: Int
        var seconds: Double
    }

    /// Runs vmlab, sampling its own high-water mark while it runs; wait4 gives the figure
    /// with its children.
    func measured(_ args: [String], environment: [String: String], scratch: URL) async throws -> Outcome {
        let started = ContinuousClock.now
        let child = try SpawnedProcess([IntegrationEnvironment.vmlabBinary.path] + args, environment: environment,
                                       stdout: scratch.appendingPathComponent("out"),
                                       stderr: scratch.appendingPathComponent("err"))
        var own = 0
        // The shell execs vmlab, so the pid is vmlab's.
        let status = try await child.finish(interval: .milliseconds(20)) {
            if let text = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kib = Int(line.split(separator: " ").dropFirst().first ?? "") {
                own = max(own, kib)
            }
        }
        return Outcome(status: status, stdout: child.stdoutData, stderr: child.stderr, maxRSSKiB: own,
                       withChildrenKiB: child.usage.ru_maxrss, seconds: (ContinuousClock.now - started).seconds)
    }

    /// A course folder holding only the hostile lab, with the repository's images.
    func makeCourse(in root: URL) throws -> URL {
        let course = root.appendingPathComponent("course")
        let fm = FileManager.default
        try fm.createDirectory(at: course.appendingPathComponent("Labs/hostile"), withIntermediateDirectories: true)
        try fm.createDirectory(at: course.appendingPathComponent("Grading/hostile"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: course.appendingPathComponent("Images"),
                                  withDestinationURL: IntegrationEnvironment.repository.appendingPathComponent("Images"))
        try """
        title: A guest that fights back
        summary: One small guest whose root user tries to exhaust vmlab.
        image: base
        vms:
          box: {memory: 256M}
        experiments:
          count:
            description: counts the files in /root
            steps:
              - measure: {name: files, unit: files, vm: box, command: "ls /root | wc -l"}
        artifacts:
          out.txt: {vm: box, path: /root/out.txt}
        """.write(to: course.appendingPathComponent("Labs/hostile/lab.yaml"), atomically: true, encoding: .utf8)
        try """
        lab: hostile
        pass-mark: 1
        checks:
          - id: counted
            title: the files were counted
            points: 1
            measurement: {experiment: count, name: files, min-count: 1}
        """.write(to: course.appendingPathComponent("Grading/hostile/rubric.yaml"), atomically: true, encoding: .utf8)
        return course
    }

    @Test func aHostileRootInTheGuestCannotExhaustOrConfuseVmlab() async throws {
        let home = try IntegrationEnvironment.makeHome()
        let scratch = home.root.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var environment = try await IntegrationEnvironment.environment(home: home)
        environment["VMLAB_COURSE"] = try makeCourse(in: home.root).path
        defer {
            _ = try? Subprocess.runBlocking([IntegrationEnvironment.vmlabBinary.path, "lab", "stop", "hostile"],
                                            environment: environment, check: false)
            try? FileManager.default.removeItem(at: home.root)
        }
        var peakKiB = 0, peakWithChildrenKiB = 0
        var peakCommand = ""
        func vmlab(_ args: String...) async throws -> Outcome {
            let outcome = try await measured(args, environment: environment, scratch: scratch)
            if outcome.maxRSSKiB > peakKiB { peakCommand = args.prefix(3).joined(separator: " ") }
            peakKiB = max(peakKiB, outcome.maxRSSKiB)
            peakWithChildrenKiB = max(peakWithChildrenKiB, outcome.withChildrenKiB)
            #expect(outcome.maxRSSKiB <= Self.rssLimitKiB, "`vmlab \(args.joined(separator: " "))` peaked at \(outcome.maxRSSKiB) KiB")
            return outcome
        }
        let start = try await vmlab("lab", "start", "hostile")
        try #require(start.status == 0, "\(start.stderr)")

        // 2 GB to stdout: cut at the cap in the guest, in seconds, with a warning.
        let flood = try await vmlab("exec", "hostile", "box", "--", "sh", "-c", "head -c 2000000000 /dev/zero")
        #expect(flood.stdout.count == GuestAgent.maxOutputBytes)
        #expect(flood.status == 141, "the writer ends on SIGPIPE at the cap: \(flood.stderr)")
        #expect(flood.stderr.contains("output was cut at 1 MiB"), "\(flood.stderr)")
        #expect(flood.seconds < 60, "2 GB of output took \(flood.seconds) s")
        let after = try await vmlab("exec", "hostile", "box", "--", "echo", "alive")
        #expect(after.status == 0 && String(decoding: after.stdout, as: UTF8.self) == "alive\n",
                "the agent channel survives a flood: \(after.stderr)")

        // A full disk: the guest's problem, not vmlab's; a run starts from the baseline again.
        let fill = try await vmlab("exec", "hostile", "box", "--", "sh", "-c", "dd if=/dev/zero of=/fill bs=1M; df -k / | tail -1")
        #expect(String(decoding: fill.stdout, as: UTF8.self).contains("100%"), "\(fill.stderr)")
        let run = try await vmlab("run", "hostile", "count")
        #expect(run.status == 0, "a run after a full disk: \(run.stderr)")

        // An artifact pointed at /dev/zero: a bounded read and an error naming it.
        let link = try await vmlab("exec", "hostile", "box", "--", "ln", "-sf", "/dev/zero", "/root/out.txt")
        #expect(link.status == 0, "\(link.stderr)")
        let check = try await vmlab("check", "hostile")
        #expect(check.status != 0)
        #expect(check.stderr.contains("cannot collect artifact out.txt") && check.stderr.contains("larger than"),
                "\(check.stderr)")
        #expect(check.seconds < 90, "reading /dev/zero took \(check.seconds) s")

        // The agent killed: clear errors at once, and a reset brings it back.
        _ = try await vmlab("exec", "hostile", "box", "--", "sh", "-c", "pkill -9 qemu-ga")
        let dead = try await vmlab("exec", "hostile", "box", "--", "true")
        #expect(dead.status != 0 && dead.stderr.contains("not answering"), "\(dead.stderr)")
        #expect(dead.seconds < 40, "an exec against a killed agent took \(dead.seconds) s")
        let reset = try await vmlab("lab", "reset", "hostile")
        #expect(reset.status == 0, "\(reset.stderr)")
        let back = try await vmlab("exec", "hostile", "box", "--", "true")
        #expect(back.status == 0, "the agent is back after a reset: \(back.stderr)")

        let stop = try await vmlab("lab", "stop", "hostile")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try IntegrationEnvironment.leftovers(try IntegrationEnvironment.connect(), home: home).isEmpty)
        let instances = (try? FileManager.default.contentsOfDirectory(atPath: home.instances.path)) ?? []
        #expect(instances.isEmpty, "disks left: \(instances)")
        print("HostileGuestTests: vmlab's peak RSS over all commands \(peakKiB / 1024) MiB (`vmlab \(peakCommand)`), "
              + "\(peakWithChildrenKiB / 1024) MiB counting the children it waited for; 2 GB flood cut in "
              + String(format: "%.1f s", flood.seconds))
    }
}
}
