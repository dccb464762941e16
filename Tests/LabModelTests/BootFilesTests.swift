import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// `boot:` of a VM: the header checks on real kernels and initrds, the command line rules,
/// the lab file's checks, and reading the files from a workspace without trusting it.
struct BootFilesTests {
    /// The host's own kernel and initrd (linux-image-amd64 puts them in /boot on every
    /// machine vmlab runs on): real bytes to check against.
    static var hostKernel: URL? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }.sorted()
        return names.last.map { URL(fileURLWithPath: "/boot/\($0)") }
    }

    static func header(_ url: URL) throws -> (Data, Int) {
        let (bytes, size) = try BoundedFile.head(url.path, count: BootImageCheck.headerBytes)
        return (bytes, size)
    }

    @Test func theHostsKernelIsABootableBzImage() throws {
        let kernel = try #require(Self.hostKernel, "no /boot/vmlinuz-*: install linux-image-amd64 (scripts/setup.sh does)")
        let (bytes, size) = try Self.header(kernel)
        #expect(BootImageCheck.kernelProblem(header: bytes, size: size) == nil)
    }

    @Test func aDamagedKernelSaysWhatIsWrong() throws {
        let kernel = try #require(Self.hostKernel)
        let (real, size) = try Self.header(kernel)
        func problem(_ edit: (inout [UInt8]) -> Void, size: Int = size) -> String {
            var bytes = [UInt8](real)
            edit(&bytes)
            return BootImageCheck.kernelProblem(header: Data(bytes), size: size) ?? "accepted"
        }
        #expect(problem({ $0[0x202] = UInt8(ascii: "X") }).contains("no HdrS boot header"))
        #expect(problem({ $0[0x1fe] = 0 }).contains("0xAA55"))
        #expect(problem({ $0[0x206] = 0x04; $0[0x207] = 0x02 }).contains("boot protocol 2.04"))
        #expect(problem({ $0[0x211] &= 0xfe }).contains("zImage"))
        #expect(problem({ $0[0x236] &= 0xfe }).contains("32-bit"))
        #expect(problem({ _ in }, size: 2048).contains("truncated"))
        #expect(problem({ $0.replaceSubrange(0..<4, with: [0x7f, 0x45, 0x4c, 0x46]) }).contains("ELF"))
    }

    @Test func textAndShortFilesAreNotKernels() {
        let text = Data("#!/bin/sh\necho I am a kernel\n".utf8)
        #expect(BootImageCheck.kernelProblem(header: text, size: text.count)?.contains("not an x86 Linux kernel") == true)
        #expect(BootImageCheck.kernelProblem(header: Data(), size: 0)?.contains("make bzImage") == true)
    }

    @Test func initrdsAreCpioOrCompressedCpio() throws {
        let cpio = CPIOArchive(entries: [.directory("dev"), .file("init", contents: Data("#!/bin/sh\n".utf8), mode: 0o755)]).encoded()
        #expect(BootImageCheck.initrdProblem(header: cpio, size: cpio.count) == nil)
        // The host's initramfs-tools initrd (its first part is an uncompressed microcode cpio, or compressed).
        let initrds = ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("initrd.img-") }
        if let name = initrds.sorted().last {
            let (bytes, size) = try Self.header(URL(fileURLWithPath: "/boot/\(name)"))
            #expect(BootImageCheck.initrdProblem(header: bytes, size: size) == nil)
        }
        for magic: [UInt8] in [[0x1f, 0x8b, 8, 0], [0x28, 0xb5, 0x2f, 0xfd], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], [0x02, 0x21, 0x4c, 0x18]] {
            #expect(BootImageCheck.initrdProblem(header: Data(magic + [1, 2, 3]), size: 7) == nil)
        }
        let text = Data("not an initrd".utf8)
        #expect(BootImageCheck.initrdProblem(header: text, size: text.count)?.contains("is not an initrd") == true)
        #expect(BootImageCheck.initrdProblem(header: Data(), size: 0)?.contains("empty") == true)
    }

    @Test func theCommandLineIsAppendedOnlyWhenHarmless() {
        #expect(BootSpec.cmdlineProblem("loglevel=7 slub_debug=FZ nokaslr") == nil)
        #expect(BootSpec.cmdlineProblem("root=/dev/vdb")?.contains("overrides an argument vmlab sets") == true)
        #expect(BootSpec.cmdlineProblem("quiet init=/bin/sh")?.contains("init=/bin/sh") == true)
        #expect(BootSpec.cmdlineProblem("console=tty0") != nil)
        #expect(BootSpec.cmdlineProblem("vmlab.hostname=evil") != nil)
        #expect(BootSpec.cmdlineProblem("a\nb")?.contains("printable ASCII") == true)
        #expect(BootSpec.cmdlineProblem("é") != nil)
        #expect(BootSpec.cmdlineProblem(String(repeating: "a", count: 1025))?.contains("1024") == true)
    }

    static let bootLab = """
        title: T
        summary: S
        image: base
        vms:
          box:
            boot: {kernel: bzImage, initrd: initrd.img, cmdline: "loglevel=7"}
        workspace: {}
        experiments: {e: {steps: [{start: box}]}}
        """

    @Test func aLabBootsWorkspaceFilesAndReadsThemApart() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let lab = try LabSpec.load(try course.writeLab("k", Self.bootLab), imagesDirectory: course.images)
        #expect(lab.vm("box")?.boot == BootSpec(kernel: "bzImage", initrd: "initrd.img", cmdline: "loglevel=7"))
        #expect(lab.workspace?.bootFiles == ["bzImage", "initrd.img"])
        #expect(lab.bootsWorkspaceKernel)
    }

    @Test func badBootFieldsNameTheField() throws {
        let noWorkspace = try labErrors(Self.bootLab.replacingOccurrences(of: "workspace: {}\n", with: ""))
        #expect(noWorkspace.map(\.field) == ["vms.box.boot"])
        #expect(noWorkspace.first?.message.contains("add `workspace: {}`") == true)
        #expect(noWorkspace.first?.line == 6)
        let bad = try labErrors(Self.bootLab.replacingOccurrences(of: #"kernel: bzImage, initrd: initrd.img, cmdline: "loglevel=7""#,
                                                                   with: #"kernel: ../bzImage, cmdline: "root=/dev/vdb", extra: 1"#))
        #expect(Set(bad.map(\.field)) == ["vms.box.boot.kernel", "vms.box.boot.cmdline", "vms.box.boot.extra"])
        let missing = try labErrors(Self.bootLab.replacingOccurrences(of: "kernel: bzImage, ", with: ""))
        #expect(missing.map(\.field) == ["vms.box.boot.kernel"])
    }

    // MARK: the workspace's files

    func workspace(_ files: [String: Data]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("boot-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    func lab(initrd: Bool = false) throws -> LabSpec {
        let course = try TempCourse()
        defer { course.remove() }
        let text = Self.bootLab.replacingOccurrences(of: initrd ? "\"loglevel=7\"" : "initrd: initrd.img, ", with: initrd ? "\"\"" : "")
        return try LabSpec.load(try course.writeLab("k", text), imagesDirectory: course.images)
    }

    @Test func aRealKernelIsCopiedAndChecked() throws {
        let kernel = try #require(Self.hostKernel)
        let dir = try workspace([:])
        let out = try workspace([:])
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: out) }
        try FileManager.default.copyItem(at: kernel, to: dir.appendingPathComponent("bzImage"))
        let lab = try lab()
        let ws = Workspace(files: [:], directory: dir)
        try BootFiles.check(lab, workspace: ws)
        let boot = try #require(lab.vm("box")?.boot)
        try BootFiles.stage(boot, vm: "box", lab: lab.name, from: ws, into: out)
        #expect(FileManager.default.contentsEqual(atPath: out.appendingPathComponent("box-kernel").path, andPath: kernel.path))
        // The rest of the workspace is read without it (it counts in no limit, and copy-workspace skips it).
        try Data("int x;".utf8).write(to: dir.appendingPathComponent("vmlab.c"))
        #expect(try Workspace.read(dir, spec: try #require(lab.workspace)).files.keys.sorted() == ["vmlab.c"])
    }

    @Test func aFileThatIsNoKernelFailsNamingIt() throws {
        let dir = try workspace(["bzImage": Data("#!/bin/sh\nrm -rf /\n".utf8)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: VMLabError.self) { try BootFiles.check(try self.lab(), workspace: Workspace(files: [:], directory: dir)) }
        let message = error?.message ?? ""
        #expect(message.contains(dir.appendingPathComponent("bzImage").path))
        #expect(message.contains("is not an x86 Linux kernel (no HdrS boot header"))
        #expect(message.contains("make bzImage"))
    }

    @Test func linksMissingFilesAndNoWorkspaceAreRefused() throws {
        let dir = try workspace([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let lab = try lab()
        let ws = Workspace(files: [:], directory: dir)
        let missing = #expect(throws: VMLabError.self) { try BootFiles.check(lab, workspace: ws) }
        #expect(missing?.code == .notFound && missing?.message.contains("does not exist") == true)
        let kernel = try #require(Self.hostKernel)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("bzImage").path, withDestinationPath: kernel.path)
        let link = #expect(throws: VMLabError.self) { try BootFiles.check(lab, workspace: ws) }
        #expect(link?.message.contains("symbolic link") == true)
        let out = try workspace([:])
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(throws: VMLabError.self) { try BootFiles.stage(lab.vm("box")!.boot!, vm: "box", lab: lab.name, from: ws, into: out) }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("box-kernel").path))
        let none = #expect(throws: VMLabError.self) { try BootFiles.check(lab, workspace: nil) }
        #expect(none?.message.contains("--workspace") == true)
    }

    @Test func aReplayBootsTheHandedInCopyWithinTheLimits() throws {
        let kernel = try #require(Self.hostKernel)
        let lab = try lab(initrd: true)
        let cpio = CPIOArchive(entries: [.file("init", contents: Data("x".utf8), mode: 0o755)]).encoded()
        let handedIn = Workspace(files: [:], bootFiles: ["bzImage": try Data(contentsOf: kernel), "initrd.img": cpio])
        try BootFiles.check(lab, workspace: handedIn)
        let wrong = Workspace(files: [:], bootFiles: ["bzImage": cpio, "initrd.img": cpio])
        let error = #expect(throws: VMLabError.self) { try BootFiles.check(lab, workspace: wrong) }
        #expect(error?.message.contains("handed-in workspace file bzImage is not an x86 Linux kernel") == true)
        let swapped = Workspace(files: [:], bootFiles: ["bzImage": try Data(contentsOf: kernel), "initrd.img": Data("text".utf8)])
        #expect(throws: VMLabError.self) { try BootFiles.check(lab, workspace: swapped) }
    }

    @Test func aKernelOverTheLimitIsNotCopied() throws {
        let dir = try workspace([:])
        let out = try workspace([:])
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: out) }
        let big = dir.appendingPathComponent("big")
        _ = FileManager.default.createFile(atPath: big.path, contents: nil)
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: 2048)
        try handle.close()
        #expect(throws: BoundedFile.Problem.tooLarge(limit: 1024)) {
            try BoundedFile.copy(big.path, to: out.appendingPathComponent("copy").path, limit: 1024)
        }
        try BoundedFile.copy(big.path, to: out.appendingPathComponent("copy").path.appending("2"), limit: 4096)
        #expect(try BoundedFile.read(out.appendingPathComponent("copy2").path, limit: 4096).count == 2048)
    }
}
