import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// A course folder of its own under the temporary directory (tests run in parallel).
struct TempCourse {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("vmlab-labspec-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Images"), withIntermediateDirectories: true)
        try "name: base\n".write(to: root.appendingPathComponent("Images/base.yaml"), atomically: true, encoding: .utf8)
    }

    var images: URL { root.appendingPathComponent("Images") }

    /// Writes Labs/NAME/lab.yaml (and any extra files, relative to the lab folder).
    @discardableResult
    func writeLab(_ name: String, _ yaml: String, files: [String: String] = [:]) throws -> URL {
        let dir = root.appendingPathComponent("Labs/\(name)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (path, text) in files {
            let file = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let url = dir.appendingPathComponent("lab.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// The problems `LabSpec.load` reports for `yaml` (none if it loads).
func labErrors(_ yaml: String, files: [String: String] = [:]) throws -> [SpecError] {
    let course = try TempCourse()
    defer { course.remove() }
    let url = try course.writeLab("x", yaml, files: files)
    do {
        _ = try LabSpec.load(url, imagesDirectory: course.images)
        return []
    } catch let error as SpecErrors {
        return error.errors
    }
}

/// A lab whose first step is on line 10, with parameter `n`, network `lan`, VM `box`
/// (one NIC) and VM `db` (no NICs).
func labWithSteps(_ steps: String) -> String {
    """
    title: T
    summary: S
    image: base
    parameters: {n: {type: int, default: 1}}
    networks: {lan: {}}
    vms: {box: {nics: [{network: lan}]}, db: {}}
    experiments:
      e:
        steps:
    \(steps.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"))

    """
}

@Suite struct LabSpecTests {
    static let fullLab = """
    # yaml-language-server: $schema=../../docs/lab.schema.json
    title: Journal replay after a crash
    summary: Crash a VM mid-write and watch the journal replay.
    image: base
    parameters:
      journal_mode: {type: choice, values: [ordered, writeback, journal], default: ordered, description: How data is journaled}
      commit: {type: int, min: 1, max: 300, default: 5, unit: s}
      ratio: {type: number, min: 0.5, max: 4, default: 1.5}
      note: {type: string, default: hi}
      port: {type: int, default: 8080, per-student: true}
    networks:
      lan: {}
    vms:
      box:
        memory: 1G
        vcpus: 2
        disks:
          - {name: data, size: 1G, filesystem: ext4}
          - {name: raw, size: 64M}
        nics:
          - {network: lan, address: 198.18.0.10/24}
          - {network: lan}
      peer: {}
    setup:
      - exec: {vm: box, command: "mkdir -p /mnt/data"}
      - copy-in: {vm: box, from: files/probe.sh, to: /root/probe.sh}
    experiments:
      crash-replay:
        description: Crash during writes
        revert: false
        steps:
          - exec: {vm: box, command: "mount -o data=${journal_mode},commit=${commit} /dev/vdb /mnt/data", timeout: 60, allow-failure: true}
          - crash: box
          - start: box
          - shutdown: peer
          - wait-for-agent: box
          - wait-for-agent: {vm: peer, timeout: 30}
          - snapshot: {vm: box, name: before}
          - revert: {vm: box, name: before}
          - set-cpu: {vm: box, shares: 512, quota: "${commit}"}
          - set-memory: {vm: box, memory: 256}
          - link: {vm: box, nic: 1, state: down}
          - link: {vm: box, state: up}
          - copy-out: {vm: box, from: /var/log/replay.log, name: replay.log}
          - sleep: 0.5
          - parallel:
              - exec: {vm: box, command: "echo ${note}"}
              - parallel:
                  - crash: peer
          - measure: {name: files, unit: count, vm: box, command: "ls /mnt/data | wc -l"}
          - measure: {name: replay_ms, unit: ms, vm: box, command: dmesg, regex: "replay took ([0-9]+)", timeout: 10}
          - measure: {name: clean, unit: bool, vm: box, command: "dmesg", matches: "recovery complete"}
          - measure: {name: fsck_ok, unit: status, vm: box, command: "fsck -n /dev/vdb", exit-code: true}
          - measure:
              name: boot_time
              duration: {start: box}
      idle:
        steps:
          - sleep: 1

    """

    @Test func fullLabLoadsIntoTheExactModel() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("x", Self.fullLab, files: ["files/probe.sh": "#!/bin/sh\n"])
        let lab = try LabSpec.load(url, imagesDirectory: course.images)
        let expected = LabSpec(
            name: "x", title: "Journal replay after a crash",
            summary: "Crash a VM mid-write and watch the journal replay.", image: "base",
            parameters: [
                ParameterSpec(name: "journal_mode", kind: .choice(["ordered", "writeback", "journal"]),
                              defaultValue: "ordered", description: "How data is journaled"),
                ParameterSpec(name: "commit", kind: .int(min: 1, max: 300), defaultValue: "5", unit: "s"),
                ParameterSpec(name: "ratio", kind: .number(min: 0.5, max: 4), defaultValue: "1.5"),
                ParameterSpec(name: "note", kind: .string, defaultValue: "hi"),
                ParameterSpec(name: "port", kind: .int(min: nil, max: nil), defaultValue: "8080", perStudent: true),
            ],
            networks: [NetworkSpec(name: "lan")],
            vms: [
                VMSpec(name: "box", memoryMiB: 1024, vcpus: 2,
                       disks: [DiskSpec(name: "data", sizeBytes: 1 << 30, filesystem: "ext4"),
                               DiskSpec(name: "raw", sizeBytes: 64 << 20)],
                       nics: [NICSpec(network: "lan", address: "198.18.0.10/24"), NICSpec(network: "lan")]),
                VMSpec(name: "peer"),
            ],
            setup: [
                .exec(vm: "box", command: "mkdir -p /mnt/data", timeoutSeconds: 300, allowFailure: false),
                .copyIn(vm: "box", from: "files/probe.sh", to: "/root/probe.sh"),
            ],
            experiments: [
                ExperimentSpec(name: "crash-replay", description: "Crash during writes", revertBeforeRun: false, steps: [
                    .exec(vm: "box", command: "mount -o data=${journal_mode},commit=${commit} /dev/vdb /mnt/data",
                          timeoutSeconds: 60, allowFailure: true),
                    .crash(vm: "box"),
                    .start(vm: "box"),
                    .shutdown(vm: "peer"),
                    .waitForAgent(vm: "box", timeoutSeconds: 300),
                    .waitForAgent(vm: "peer", timeoutSeconds: 30),
                    .snapshot(vm: "box", name: "before"),
                    .revert(vm: "box", name: "before"),
                    .setCPU(vm: "box", shares: "512", period: nil, quota: "${commit}"),
                    .setMemory(vm: "box", mebibytes: "256"),
                    .link(vm: "box", nic: 1, up: false),
                    .link(vm: "box", nic: 0, up: true),
                    .copyOut(vm: "box", from: "/var/log/replay.log", name: "replay.log"),
                    .sleep(seconds: "0.5"),
                    .parallel([
                        .exec(vm: "box", command: "echo ${note}", timeoutSeconds: 300, allowFailure: false),
                        .parallel([.crash(vm: "peer")]),
                    ]),
                    .measure(MeasureStep(name: "files", unit: "count", source: .command(
                        vm: "box", command: "ls /mnt/data | wc -l", extract: .number, timeoutSeconds: 300))),
                    .measure(MeasureStep(name: "replay_ms", unit: "ms", source: .command(
                        vm: "box", command: "dmesg", extract: .regex("replay took ([0-9]+)"), timeoutSeconds: 10))),
                    .measure(MeasureStep(name: "clean", unit: "bool", source: .command(
                        vm: "box", command: "dmesg", extract: .matches("recovery complete"), timeoutSeconds: 300))),
                    .measure(MeasureStep(name: "fsck_ok", unit: "status", source: .command(
                        vm: "box", command: "fsck -n /dev/vdb", extract: .exitCode, timeoutSeconds: 300))),
                    .measure(MeasureStep(name: "boot_time", unit: "s", source: .duration(.start(vm: "box")))),
                ]),
                ExperimentSpec(name: "idle", steps: [.sleep(seconds: "1")]),
            ],
            source: url)
        #expect(lab.parameters == expected.parameters)
        #expect(lab.vms == expected.vms)
        #expect(lab.setup == expected.setup)
        for (got, want) in zip(lab.experiments, expected.experiments) {
            #expect(got.name == want.name)
            for (g, w) in zip(got.steps, want.steps) { #expect(g == w) }
        }
        #expect(lab == expected)
    }

    @Test func loadsWithoutImagesDirectoryAndDefaults() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("minimal", """
            title: T
            summary: S
            image: not-built-yet
            vms: {box: {}}
            experiments: {e: {steps: [{start: box}]}}
            """)
        let lab = try LabSpec.load(url)
        #expect(lab.name == "minimal")
        #expect(lab.vms == [VMSpec(name: "box", memoryMiB: 512, vcpus: 1)])
        #expect(lab.experiments == [ExperimentSpec(name: "e", description: "", revertBeforeRun: true, steps: [.start(vm: "box")])])
        #expect(lab.parameters.isEmpty && lab.networks.isEmpty && lab.setup.isEmpty)
    }

    @Test func unreadableFileIsNotFound() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-none-\(UUID())/lab.yaml")
        #expect {
            _ = try LabSpec.load(missing)
        } throws: { error in
            (error as? VMLabError)?.code == .notFound
        }
    }

    /// (description, lab text, line, fragment of "field: message").
    static let stepCases: [(String, String, Int, String)] = [
        ("unknown kind", "- jump: box", 10, "experiments.e.steps[0]: unknown step kind 'jump' (known kinds: exec, crash"),
        ("two keys", "- {crash: box, start: box}", 10, "steps[0]: a step has exactly one key, its kind, but this one has crash, start"),
        ("no key", "- {}", 10, "steps[0]: empty step; write one of: exec"),
        ("not a mapping", "- crash", 10, "steps[0]: expected a step"),
        ("unknown VM, scalar", "- crash: web", 10, "steps[0].crash: unknown VM 'web' (VMs: box, db)"),
        ("unknown VM, mapping", "- exec: {vm: web, command: ls}", 10, "steps[0].exec.vm: unknown VM 'web' (VMs: box, db)"),
        ("missing command", "- exec: {vm: box}", 10, "steps[0].exec.command: is required"),
        ("unknown key in step", "- exec: {vm: box, command: ls, timout: 5}", 10, "steps[0].exec.timout: unknown key"),
        ("bad timeout", "- exec: {vm: box, command: ls, timeout: soon}", 10, "exec.timeout: expected a whole number"),
        ("nic beyond", "- link: {vm: box, nic: 1, state: down}", 10, "link.nic: VM box has 1 NIC(s); nic is 0-based, so use 0...0"),
        ("no nics", "- link: {vm: db, state: down}", 10, "link.vm: VM db has no NICs"),
        ("link state", "- link: {vm: box, state: sideways}", 10, "link.state: expected up or down"),
        ("undeclared parameter", "- exec: {vm: box, command: \"echo ${nope}\"}", 10,
         "exec.command: unknown parameter '${nope}' (parameters: n)"),
        ("nested undeclared parameter", "- parallel:\n    - parallel:\n        - exec: {vm: box, command: \"echo ${nope}\"}", 12,
         "steps[0].parallel[0].parallel[0].exec.command: unknown parameter '${nope}'"),
        ("parameter in duration", "- measure: {name: t, duration: {exec: {vm: box, command: \"sleep ${zz}\"}}}", 10,
         "measure.duration.exec.command: unknown parameter '${zz}'"),
        ("parameter in snapshot name", "- snapshot: {vm: box, name: \"s${zz}\"}", 10, "snapshot.name: unknown parameter"),
        ("unterminated reference", "- exec: {vm: box, command: \"echo ${n\"}", 10, "exec.command: unterminated ${"),
        ("duplicate measure", "- measure: {name: t, unit: ms, vm: box, command: date}\n- measure: {name: t, unit: ms, vm: box, command: date}",
         11, "steps[1].measure.name: measure 't' is already defined in this experiment"),
        ("duplicate measure in parallel", "- measure: {name: t, unit: ms, vm: box, command: date}\n- parallel:\n    - measure: {name: t, duration: {sleep: 1}}",
         12, "parallel[0].measure.name: measure 't' is already defined"),
        ("two extractors", "- measure: {name: t, unit: ms, vm: box, command: x, regex: a, exit-code: true}", 10,
         "steps[0].measure: give at most one of regex, matches, exit-code (found regex, exit-code)"),
        ("bad regex", "- measure: {name: t, unit: ms, vm: box, command: x, regex: \"(\"}", 10,
         "measure.regex: '(' is not a valid regular expression"),
        ("bad matches", "- measure: {name: t, unit: ms, vm: box, command: x, matches: \"[\"}", 10, "measure.matches: '[' is not a valid"),
        ("bad measure name", "- measure: {name: Time, unit: ms, vm: box, command: x}", 10, "measure.name: 'Time' must be lowercase"),
        ("measure without unit", "- measure: {name: t, vm: box, command: x}", 10, "measure.unit: is required"),
        ("bad duration step", "- measure: {name: t, duration: {jump: box}}", 10, "measure.duration: unknown step kind 'jump'"),
        ("sleep zero", "- sleep: 0", 10, "steps[0].sleep: expected seconds, a number above 0 and at most 3600"),
        ("sleep too long", "- sleep: 3601", 10, "steps[0].sleep: expected seconds"),
        ("sleep text", "- sleep: long", 10, "steps[0].sleep: expected seconds"),
        ("sleep unknown parameter", "- sleep: ${nap}", 10, "steps[0].sleep: unknown parameter '${nap}'"),
        ("sleep arithmetic too long", "- sleep: \"= ${n} * 4000\"", 10,
         "steps[0].sleep: expected seconds, a number above 0 and at most 3600, like `sleep: 2.5` or `sleep: ${window}`, got '= 1 * 4000' (with the parameters' defaults)"),
        ("empty parallel", "- parallel: []", 10, "steps[0].parallel: expected a non-empty list of steps"),
        ("set-cpu nothing", "- set-cpu: {vm: box}", 10, "steps[0].set-cpu: give at least one of shares, period, quota"),
        ("set-cpu text", "- set-cpu: {vm: box, shares: lots}", 10, "set-cpu.shares: expected a whole number or ${parameter}"),
        ("set-memory text", "- set-memory: {vm: box, memory: lots}", 10, "set-memory.memory: expected MiB as a whole number"),
        ("set-memory bad arithmetic", "- set-memory: {vm: box, memory: \"= 512 /\"}", 10, "set-memory.memory: '= 512 /'"),
        ("set-memory arithmetic below 1", "- set-memory: {vm: box, memory: \"= ${n} - 1\"}", 10,
         "set-memory.memory: '= 1 - 1' gives 0 MiB; give at least 1 (with the parameters' defaults)"),
        ("expression syntax", "- measure: {name: t, unit: ms, expression: \"1 +\"}", 10, "measure.expression: '1 +':"),
        ("expression names an unknown measure", "- measure: {name: a, unit: ms, vm: box, command: x}\n- measure: {name: t, unit: ms, expression: \"a + b\"}",
         11, "measure.expression: 'b' is neither a measure taken earlier in this experiment (a) nor a parameter"),
        ("expression names a later measure", "- measure: {name: t, unit: ms, expression: \"u * n\"}\n- measure: {name: u, unit: ms, vm: box, command: x}",
         10, "measure.expression: 'u' is neither a measure taken earlier in this experiment (there is none)"),
        ("expression without unit", "- measure: {name: t, expression: \"n\"}", 10, "measure.unit: is required"),
        ("copy-in missing file", "- copy-in: {vm: box, from: nothing.sh, to: /root/x}", 10, "copy-in.from: file "),
        ("copy-in absolute from", "- copy-in: {vm: box, from: /etc/passwd, to: /root/x}", 10, "copy-in.from: give a path relative"),
        ("copy-in relative to", "- copy-in: {vm: box, from: \"${n}.sh\", to: root/x}", 10, "copy-in.to: give an absolute path"),
        ("copy-out relative from", "- copy-out: {vm: box, from: var/log, name: log}", 10, "copy-out.from: give an absolute path"),
        ("copy-out slash name", "- copy-out: {vm: box, from: /var/log/x, name: a/b}", 10, "copy-out.name: artifact name 'a/b' contains a path separator"),
        ("copy-out dotdot name", "- copy-out: {vm: box, from: /var/log/x, name: ..}", 10, "copy-out.name: artifact name '..' contains '..'"),
        ("copy-out hidden name", "- copy-out: {vm: box, from: /var/log/x, name: .log}", 10, "copy-out.name: artifact name '.log' starts with '.'"),
        ("wait-for-agent list", "- wait-for-agent: [box]", 10, "steps[0].wait-for-agent: expected a VM name or {vm, timeout}"),
        ("wait-for-agent unknown VM", "- wait-for-agent: {vm: web}", 10, "wait-for-agent.vm: unknown VM 'web'"),
        ("crash mapping", "- crash: {vm: box}", 10, "steps[0].crash: expected a VM name, like `crash: box`"),
    ]

    @Test(arguments: stepCases)
    func stepProblemsAreLocated(_ name: String, _ steps: String, _ line: Int, _ fragment: String) throws {
        let errors = try labErrors(labWithSteps(steps))
        #expect(errors.contains { $0.line == line && $0.description.contains(fragment) },
                "\(name): wanted line \(line) '\(fragment)', got:\n\(errors.map(\.description).joined(separator: "\n"))")
    }

    static let labCases: [(String, String, Int, String)] = [
        ("missing title", "summary: S\nimage: base\nvms: {box: {}}\nexperiments: {e: {steps: [{crash: box}]}}", 1, "title: is required"),
        ("empty summary", "title: T\nsummary: \"\"\nimage: base\nexperiments: {e: {steps: [{sleep: 1}]}}", 2, "summary: is required (it is empty)"),
        ("unknown top key", "title: T\nsummary: S\nimage: base\ntitel: x\nexperiments: {e: {steps: [{sleep: 1}]}}", 4,
         "titel: unknown key (known keys here:"),
        ("missing image recipe", "title: T\nsummary: S\nimage: fancy\nexperiments: {e: {steps: [{sleep: 1}]}}", 3,
         "image: no image recipe"),
        ("missing experiments", "title: T\nsummary: S\nimage: base\n", 1, "experiments: is required"),
        ("artifact path name", "title: T\nsummary: S\nimage: base\nvms: {box: {}}\nartifacts:\n  a/b: {vm: box, path: /x}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         6, "artifacts.a/b: artifact name 'a/b' contains a path separator"),
        ("no experiments", "title: T\nsummary: S\nimage: base\nexperiments: {}\n", 4, "experiments: declare at least one experiment"),
        ("missing steps", "title: T\nsummary: S\nimage: base\nexperiments:\n  e:\n    description: d\n", 5, "experiments.e.steps: is required"),
        ("empty steps", "title: T\nsummary: S\nimage: base\nexperiments:\n  e:\n    steps: []\n", 6, "experiments.e.steps: list at least one step"),
        ("bad experiment name", "title: T\nsummary: S\nimage: base\nexperiments:\n  Crash_Replay:\n    steps: [{sleep: 1}]\n", 5,
         "experiments.Crash_Replay: experiment names are lowercase"),
        ("bad network name", "title: T\nsummary: S\nimage: base\nnetworks:\n  LAN: {}\nexperiments: {e: {steps: [{sleep: 1}]}}", 5,
         "networks.LAN: network names are lowercase"),
        ("network not a mapping", "title: T\nsummary: S\nimage: base\nnetworks:\n  lan: yes\nexperiments: {e: {steps: [{sleep: 1}]}}", 5,
         "networks.lan: expected a mapping"),
        ("unknown network key", "title: T\nsummary: S\nimage: base\nnetworks:\n  lan: {dhcp: true}\nexperiments: {e: {steps: [{sleep: 1}]}}", 5,
         "networks.lan.dhcp: unknown key"),
        ("bad VM name", "title: T\nsummary: S\nimage: base\nvms:\n  Box: {}\nexperiments: {e: {steps: [{sleep: 1}]}}", 5,
         "vms.Box: VM names are lowercase"),
        ("long VM name", "title: T\nsummary: S\nimage: base\nvms:\n  a-very-long-vm-name-indeed: {}\nexperiments: {e: {steps: [{sleep: 1}]}}", 5,
         "vms.a-very-long-vm-name-indeed: VM names are at most 20 characters"),
        ("small memory", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    memory: 32M\nexperiments: {e: {steps: [{sleep: 1}]}}", 6,
         "vms.box.memory: 32M is out of range 64M...64G"),
        ("big memory", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    memory: 128G\nexperiments: {e: {steps: [{sleep: 1}]}}", 6,
         "vms.box.memory: 131072M is out of range"),
        ("memory text", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    memory: lots\nexperiments: {e: {steps: [{sleep: 1}]}}", 6,
         "vms.box.memory: expected a size"),
        ("vcpus", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    vcpus: 17\nexperiments: {e: {steps: [{sleep: 1}]}}", 6,
         "vms.box.vcpus: 17 is out of range 1...16"),
        ("unknown VM key", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    cpus: 2\nexperiments: {e: {steps: [{sleep: 1}]}}", 6,
         "vms.box.cpus: unknown key"),
        ("duplicate disk", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    disks:\n      - {name: data, size: 1G}\n      - {name: data, size: 2G}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         8, "vms.box.disks[1].name: VM box already has a disk named 'data'"),
        ("bad disk name", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    disks:\n      - {name: Data, size: 1G}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "vms.box.disks[0].name: 'Data' must be lowercase"),
        ("disk without size", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    disks:\n      - {name: data}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "vms.box.disks[0].size: is required"),
        ("bad filesystem", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    disks:\n      - {name: data, size: 1G, filesystem: ntfs}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "vms.box.disks[0].filesystem: unknown filesystem 'ntfs' (choose ext2, ext3, ext4, xfs, swap"),
        ("too many disks", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    disks: [" + (1...9).map { "{name: d\($0), size: 1G}" }.joined(separator: ", ")
         + "]\nexperiments: {e: {steps: [{sleep: 1}]}}", 6, "vms.box.disks: at most 8 disks per VM"),
        ("too many nics", "title: T\nsummary: S\nimage: base\nnetworks: {lan: {}}\nvms:\n  box:\n    nics: ["
         + Array(repeating: "{network: lan}", count: 5).joined(separator: ", ") + "]\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "vms.box.nics: at most 4 NICs per VM"),
        ("undeclared network", "title: T\nsummary: S\nimage: base\nvms:\n  box:\n    nics:\n      - {network: wan}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "vms.box.nics[0].network: network 'wan' is not declared (declare it under networks:)"),
        ("undeclared network with others", "title: T\nsummary: S\nimage: base\nnetworks: {lan: {}}\nvms:\n  box:\n    nics:\n      - {network: wan}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         8, "network 'wan' is not declared (networks: lan)"),
        ("bad CIDR octet", "title: T\nsummary: S\nimage: base\nnetworks: {lan: {}}\nvms:\n  box:\n    nics:\n      - {network: lan, address: 198.18.0.300/24}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         8, "vms.box.nics[0].address: expected an IPv4 address with its prefix length"),
        ("CIDR without prefix", "title: T\nsummary: S\nimage: base\nnetworks: {lan: {}}\nvms:\n  box:\n    nics:\n      - {network: lan, address: 198.18.0.3}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         8, "nics[0].address: expected an IPv4 address"),
        ("CIDR prefix 33", "title: T\nsummary: S\nimage: base\nnetworks: {lan: {}}\nvms:\n  box:\n    nics:\n      - {network: lan, address: 10.0.0.1/33}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         8, "nics[0].address: expected an IPv4 address"),
        ("bad int default", "title: T\nsummary: S\nimage: base\nparameters:\n  commit: {type: int, min: 1, max: 10, default: 50}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.commit.default: 50 is above the maximum 10"),
        ("int default text", "title: T\nsummary: S\nimage: base\nparameters:\n  commit:\n    type: int\n    default: soon\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "parameters.commit.default: expected a whole number, got 'soon'"),
        ("number default", "title: T\nsummary: S\nimage: base\nparameters:\n  ratio: {type: number, default: abc}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.ratio.default: expected a finite number, got 'abc'"),
        ("choice default", "title: T\nsummary: S\nimage: base\nparameters:\n  mode: {type: choice, values: [a, b], default: c}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.mode.default: 'c' is not one of a, b"),
        ("choice without values", "title: T\nsummary: S\nimage: base\nparameters:\n  mode: {type: choice, default: a}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.mode.values: a choice parameter needs a list of values"),
        ("choice with empty values", "title: T\nsummary: S\nimage: base\nparameters:\n  mode:\n    type: choice\n    values: []\n    default: a\nexperiments: {e: {steps: [{sleep: 1}]}}",
         7, "parameters.mode.values: a choice parameter needs at least one value"),
        ("int min above max", "title: T\nsummary: S\nimage: base\nparameters:\n  commit: {type: int, min: 10, max: 1, default: 5}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.commit.min: min 10 is above max 1"),
        ("number min above max", "title: T\nsummary: S\nimage: base\nparameters:\n  r: {type: number, min: 2.5, max: 1, default: 2}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.r.min: min 2.5 is above max 1"),
        ("bad parameter name", "title: T\nsummary: S\nimage: base\nparameters:\n  Commit: {type: int, default: 5}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.Commit: parameter names are lowercase letters, digits and underscores"),
        ("dashed parameter name", "title: T\nsummary: S\nimage: base\nparameters:\n  commit-s: {type: int, default: 5}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.commit-s: parameter names"),
        ("unknown parameter type", "title: T\nsummary: S\nimage: base\nparameters:\n  x: {type: float, default: 5}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.x.type: unknown type 'float' (types: int, number, choice, string)"),
        ("parameter without default", "title: T\nsummary: S\nimage: base\nparameters:\n  x:\n    type: int\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.x.default: is required"),
        ("values on int", "title: T\nsummary: S\nimage: base\nparameters:\n  x: {type: int, values: [1, 2], default: 1}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.x.values: only a choice parameter has values"),
        ("min on string", "title: T\nsummary: S\nimage: base\nparameters:\n  x: {type: string, min: 1, default: a}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.x.min: only int and number parameters have min and max"),
        ("per-student not bool", "title: T\nsummary: S\nimage: base\nparameters:\n  x: {type: int, default: 1, per-student: maybe}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.x.per-student: expected true or false"),
        ("unknown parameter key", "title: T\nsummary: S\nimage: base\nparameters:\n  x: {type: int, default: 1, step: 2}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "parameters.x.step: unknown key"),
        ("setup steps checked", "title: T\nsummary: S\nimage: base\nsetup:\n  - crash: box\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "setup[0].crash: unknown VM 'box' (this lab declares no VMs)"),
        ("setup not a list", "title: T\nsummary: S\nimage: base\nsetup: {crash: box}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         4, "setup: expected a list"),
        ("no parameters declared", "title: T\nsummary: S\nimage: base\nvms: {box: {}}\nexperiments: {e: {steps: [{exec: {vm: box, command: \"echo ${x}\"}}]}}",
         5, "unknown parameter '${x}' (this lab declares no parameters)"),
        ("revert not bool", "title: T\nsummary: S\nimage: base\nexperiments:\n  e:\n    revert: sometimes\n    steps: [{sleep: 1}]\n",
         6, "experiments.e.revert: expected true or false"),
        ("duplicate key", "title: T\nsummary: S\nimage: base\nvms:\n  box: {}\n  box: {vcpus: 2}\nexperiments: {e: {steps: [{sleep: 1}]}}",
         5, "the mapping starting here has the key 'box' more than once"),
        ("YAML syntax", "title: T\nsummary: [S\nimage: base\n", 3, "YAML syntax: while parsing a flow sequence"),
    ]

    @Test(arguments: labCases)
    func labProblemsAreLocated(_ name: String, _ yaml: String, _ line: Int, _ fragment: String) throws {
        let errors = try labErrors(yaml)
        #expect(errors.contains { $0.line == line && $0.description.contains(fragment) },
                "\(name): wanted line \(line) '\(fragment)', got:\n\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test func errorsNameTheFileAndLine() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("x", labWithSteps("- crash: web"))
        #expect {
            _ = try LabSpec.load(url)
        } throws: { error in
            (error as? SpecErrors)?.description.hasPrefix("\(url.path):10: experiments.e.steps[0].crash: unknown VM 'web'") == true
        }
    }

    @Test func everyProblemIsReportedTogether() throws {
        let errors = try labErrors("""
            title: T
            image: base
            parameters:
              commit: {type: int, min: 1, max: 10, default: 50}
            vms:
              box:
                vcpus: 0
            experiments:
              e:
                steps:
                  - crash: web
                  - exec: {vm: box, command: "echo ${nope}", extra: 1}
            """)
        let located = Set(errors.map { "\($0.line ?? 0) \($0.field)" })
        #expect(located == ["1 summary", "4 parameters.commit.default", "7 vms.box.vcpus", "11 experiments.e.steps[0].crash",
                            "12 experiments.e.steps[1].exec.command", "12 experiments.e.steps[1].exec.extra"],
                "\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test func copyInWithParameterSkipsTheFileCheck() throws {
        let errors = try labErrors(labWithSteps("- copy-in: {vm: box, from: \"data/${n}.bin\", to: \"/root/${n}\"}"))
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func sleepTakesAParameterOrArithmetic() throws {
        let errors = try labErrors(labWithSteps("- sleep: ${n}\n- sleep: \"= ${n} * 2.5\""))
        #expect(errors.isEmpty, "\(errors)")
        let step = Step.sleep(seconds: "= ${n} * 2.5")
        #expect(try step.substituted(["n": "4"]) == .sleep(seconds: "= 4 * 2.5"))
    }

    @Test func escapedReferenceIsNotAParameter() throws {
        let errors = try labErrors(labWithSteps("- exec: {vm: box, command: \"echo $${HOME} $$ $PATH\"}"))
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func regexWithParameterCompilesWithTheDefault() throws {
        let errors = try labErrors(labWithSteps("- measure: {name: t, unit: ms, vm: box, command: x, regex: \"took ([0-9]{${n}})\"}"))
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func derivedMeasureAndArithmeticMemoryLoad() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("x", labWithSteps("""
        - set-memory: {vm: box, memory: "= 512 / ${n}"}
        - parallel:
            - measure: {name: a, unit: MiB, vm: box, command: x}
            - measure: {name: b, unit: MiB, vm: db, command: x}
        - measure: {name: total, unit: MiB, expression: "a + b * n"}
        """))
        let steps = try LabSpec.load(url).experiments[0].steps
        #expect(steps[0] == .setMemory(vm: "box", mebibytes: "= 512 / ${n}"))
        let total = try #require(steps[2].as(MeasureStep.self))
        let e = try #require(total.source as? ExpressionMeasure).expression
        #expect(e.text == "a + b * n" && total.unit == "MiB")
        #expect(Step.measure(total).vms.isEmpty)
    }

    @Test func badLabFolderNameIsReported() throws {
        let errors = try {
            let course = try TempCourse()
            defer { course.remove() }
            let url = try course.writeLab("Journal Replay", labWithSteps("- sleep: 1"))
            do {
                _ = try LabSpec.load(url)
                return [SpecError]()
            } catch let error as SpecErrors {
                return error.errors
            }
        }()
        #expect(errors.map(\.message).contains { $0.contains("lab folder name 'Journal Replay'") })
    }

    @Test func theDocumentedExampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/lab-authoring.md"), encoding: .utf8)
        // The first ```yaml block of the guide is a complete lab.
        let start = try #require(guide.range(of: "```yaml\n"))
        let end = try #require(guide.range(of: "```", range: start.upperBound..<guide.endIndex))
        let yaml = String(guide[start.upperBound..<end.lowerBound])
        let errors = try labErrors(yaml, files: ["files/writer.sh": "#!/bin/sh\n"])
        #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
    }
}
