import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// Lab files are read by every student's vmlab: bounded, text only, linear to load, and
/// never a way to reach host files outside the lab folder.
struct LabFileBoundsTests {
    func loadError(_ url: URL) -> String {
        do {
            _ = try LabSpec.load(url)
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func twoNICsWithOneAddressOnANetworkAreRejected() throws {
        let errors = try labErrors("""
        title: T
        summary: S
        image: base
        networks: {lan: {}, dmz: {}}
        vms:
          a: {nics: [{network: lan, address: 198.18.0.10/24}, {network: dmz, address: 198.18.0.10/24}]}
          b: {nics: [{network: lan, address: 198.18.0.10/24}]}
        experiments: {e: {steps: [{sleep: 1}]}}
        """)
        #expect(errors.count == 1)
        #expect(errors.first?.description.contains("vms.b.nics[0].address: 198.18.0.10 is already the address of vms.a.nics[0] on network lan") == true)
    }

    @Test func moreThan64VMsAreRejected() throws {
        let vms = (0..<65).map { "  vm\($0): {}" }.joined(separator: "\n")
        let errors = try labErrors("title: T\nsummary: S\nimage: base\nvms:\n\(vms)\nexperiments: {e: {steps: [{sleep: 1}]}}")
        #expect(errors.contains { $0.description.contains("a lab has at most 64 VMs; this one declares 65") })
    }

    @Test func sixtyFourVMsLoadInLinearTime() throws {
        // 64 VMs with steps naming each: the loader's lookups are by name, not by scanning.
        let vms = (0..<64).map { "  vm\($0): {}" }.joined(separator: "\n")
        let steps = (0..<64).map { "      - crash: vm\($0)" }.joined(separator: "\n")
        let errors = try labErrors("title: T\nsummary: S\nimage: base\nvms:\n\(vms)\nexperiments:\n  e:\n    steps:\n\(steps)")
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func oversizedBinaryAndSpecialFilesGetOneLine() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let big = try course.writeLab("big", "title: T\n# " + String(repeating: "x", count: LabSpec.maxFileBytes) + "\n")
        #expect(loadError(big).contains("lab.yaml: it is larger than the limit of 1 MiB"))

        let binary = try course.writeLab("bin", "title: T\n")
        try Data("title: T\nsummary: \u{FF}".utf8 + [0xFF, 0xFE]).write(to: binary)
        let message = loadError(binary)
        #expect(message.contains("is not UTF-8 text: invalid byte at offset"), "\(message)")
        #expect(!message.contains("\n"))

        let fifo = course.root.appendingPathComponent("Labs/fifo/lab.yaml")
        try FileManager.default.createDirectory(at: fifo.deletingLastPathComponent(), withIntermediateDirectories: true)
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(loadError(fifo).contains("lab.yaml: it is a FIFO (named pipe), not a regular file"))
    }

    @Test func copyInCannotLeaveTheLabFolder() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let steps = """
        title: T
        summary: S
        image: base
        vms: {box: {}}
        experiments:
          e:
            steps:
              - copy-in: {vm: box, from: ../../../etc/passwd, to: /x}
              - copy-in: {vm: box, from: files/escape, to: /x}
              - copy-in: {vm: box, from: files/ok.sh, to: /x}
        """
        let url = try course.writeLab("x", steps, files: ["files/ok.sh": "#!/bin/sh\n"])
        try FileManager.default.createSymbolicLink(atPath: url.deletingLastPathComponent().appendingPathComponent("files/escape").path,
                                                   withDestinationPath: "/etc/hostname")
        let message = loadError(url)
        #expect(message.contains("steps[0].copy-in.from: '../../../etc/passwd' resolves to"))
        #expect(message.contains("steps[1].copy-in.from: 'files/escape' resolves to /etc/hostname, outside the lab folder"))
        #expect(!message.contains("steps[2]"))
        #expect(throws: VMLabError.self) { try LabFolder(labDirectory: url.deletingLastPathComponent()).read("files/escape") }
        #expect(try LabFolder(labDirectory: url.deletingLastPathComponent()).read("files/ok.sh") == Data("#!/bin/sh\n".utf8))
    }

    /// Labs/common/ is the one folder outside its own a lab may copy from; another lab's
    /// folder and a symlink out of common/ stay out of reach.
    @Test func copyInReachesTheCoursesSharedFilesAndNothingElse() throws {
        let course = try TempCourse()
        defer { course.remove() }
        _ = try course.writeLab("other", "title: T\nsummary: S\nimage: base\nvms: {box: {}}\nexperiments: {e: {steps: [{sleep: 1}]}}",
                                files: ["files/secret.sh": "x\n"])
        let url = try course.writeLab("x", """
        title: T
        summary: S
        image: base
        vms: {box: {}}
        experiments:
          e:
            steps:
              - copy-in: {vm: box, from: ../common/tool.sh, to: /x}
              - copy-in: {vm: box, from: ../other/files/secret.sh, to: /x}
              - copy-in: {vm: box, from: ../common/escape, to: /x}
        """)
        let common = course.root.appendingPathComponent("Labs/common")
        try FileManager.default.createDirectory(at: common, withIntermediateDirectories: true)
        try Data("#!/bin/sh\n".utf8).write(to: common.appendingPathComponent("tool.sh"))
        try FileManager.default.createSymbolicLink(atPath: common.appendingPathComponent("escape").path,
                                                   withDestinationPath: "/etc/hostname")
        let message = loadError(url)
        #expect(!message.contains("steps[0]"), "\(message)")
        #expect(message.contains("steps[1].copy-in.from: '../other/files/secret.sh' resolves to"))
        #expect(message.contains("steps[2].copy-in.from: '../common/escape' resolves to /etc/hostname, outside the lab folder"))
        let folder = LabFolder(labDirectory: url.deletingLastPathComponent())
        #expect(try folder.read("../common/tool.sh") == Data("#!/bin/sh\n".utf8))
        #expect(LabCatalog(layout: CourseLayout(root: course.root)).names() == ["other", "x"], "common/ is not a lab")
    }

    @Test func numbersMustBeFinite() {
        let ratio = ParameterSpec(name: "ratio", kind: .number(min: 0, max: 4), defaultValue: "1")
        for value in ["nan", "NaN", "inf", "-infinity"] {
            #expect(ratio.problem(with: value) != nil, "\(value)")
        }
        #expect(ratio.problem(with: "2.5") == nil)
    }
}
