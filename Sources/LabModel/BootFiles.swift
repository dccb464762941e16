import Foundation
import VMLabSupport

/// The kernel and initrd a VM boots from the student's workspace (`boot:` of a VM): found
/// in the workspace folder, or in a replay's handed-in files; bounded, regular files only
/// (no link can point out of the folder), their headers checked so that a file that is
/// not a kernel fails the start with a sentence instead of a QEMU error.
public enum BootFiles {
    public enum Role: String, Sendable {
        case kernel, initrd

        var limit: Int { self == .kernel ? BootSpec.maxKernelBytes : BootSpec.maxInitrdBytes }

        func problem(header: Data, size: Int) -> String? {
            self == .kernel ? BootImageCheck.kernelProblem(header: header, size: size)
                : BootImageCheck.initrdProblem(header: header, size: size)
        }
    }

    /// Checks every VM's boot files in `workspace` (sizes and headers), before anything of
    /// the instance exists.
    public static func check(_ lab: LabSpec, workspace: Workspace?) throws {
        for vm in lab.vms {
            guard let boot = vm.boot else { continue }
            let workspace = try require(workspace, vm: vm.name, boot: boot, lab: lab.name)
            try check(boot.kernel, role: .kernel, in: workspace)
            if let initrd = boot.initrd { try check(initrd, role: .initrd, in: workspace) }
        }
    }

    /// Copies one VM's boot files from `workspace` into `directory` as `VM-kernel` and
    /// `VM-initrd` (see `copies`), and checks the copies, which nobody else can change.
    public static func stage(_ boot: BootSpec, vm: String, lab: String, from workspace: Workspace?,
                             into directory: URL) throws {
        let workspace = try require(workspace, vm: vm, boot: boot, lab: lab)
        let targets = copies(boot, vm: vm, in: directory)
        try copy(boot.kernel, role: .kernel, from: workspace, to: targets.kernel)
        if let initrd = boot.initrd, let target = targets.initrd { try copy(initrd, role: .initrd, from: workspace, to: target) }
    }

    /// Where `stage` puts a VM's copies.
    public static func copies(_ boot: BootSpec, vm: String, in directory: URL) -> (kernel: URL, initrd: URL?) {
        (directory.appendingPathComponent("\(vm)-kernel"),
         boot.initrd == nil ? nil : directory.appendingPathComponent("\(vm)-initrd"))
    }

    /// A boot file of a workspace, bounded: a replay's from its handed-in files, a
    /// student's from their folder. For a submission's artifacts.
    public static func read(_ name: String, role: Role, from workspace: Workspace) throws -> Data {
        if let data = workspace.bootFiles[name] {
            guard data.count <= role.limit else { throw tooLarge(name, role: role, in: workspace) }
            return data
        }
        guard let directory = workspace.directory else { throw missing(name, role: role, in: workspace) }
        let path = directory.appendingPathComponent(name).path
        try refuseLink(path, name: name, role: role, in: workspace)
        do {
            return try BoundedFile.read(path, limit: role.limit)
        } catch let problem {
            throw fileError(name, problem, role: role, in: workspace)
        }
    }

    // MARK: -

    static func require(_ workspace: Workspace?, vm: String, boot: BootSpec, lab: String) throws -> Workspace {
        guard let workspace else {
            throw VMLabError(.invalidInput, "VM \(vm) of lab \(lab) boots \(boot.kernel) from your workspace, but none "
                + "was given; pass --workspace DIR (default ./\(lab)-workspace)")
        }
        return workspace
    }

    static func check(_ name: String, role: Role, in workspace: Workspace) throws {
        let header: Data, size: Int
        if let data = workspace.bootFiles[name] {
            (header, size) = (data.prefix(BootImageCheck.headerBytes), data.count)
        } else if let directory = workspace.directory {
            let path = directory.appendingPathComponent(name).path
            try refuseLink(path, name: name, role: role, in: workspace)
            do { (header, size) = try BoundedFile.head(path, count: BootImageCheck.headerBytes) } catch {
                throw fileError(name, error, role: role, in: workspace)
            }
        } else {
            throw missing(name, role: role, in: workspace)
        }
        if size > role.limit { throw tooLarge(name, role: role, in: workspace) }
        if let problem = role.problem(header: header, size: size) {
            throw VMLabError(.invalidInput, "\(describe(name, in: workspace)) \(problem)")
        }
    }

    static func copy(_ name: String, role: Role, from workspace: Workspace, to target: URL) throws {
        if let data = workspace.bootFiles[name] {
            guard data.count <= role.limit else { throw tooLarge(name, role: role, in: workspace) }
            try data.write(to: target, options: .withoutOverwriting)
        } else if let directory = workspace.directory {
            let path = directory.appendingPathComponent(name).path
            try refuseLink(path, name: name, role: role, in: workspace)
            do { try BoundedFile.copy(path, to: target.path, limit: role.limit) } catch {
                throw fileError(name, error, role: role, in: workspace)
            }
        } else {
            throw missing(name, role: role, in: workspace)
        }
        let (header, size) = try BoundedFile.head(target.path, count: BootImageCheck.headerBytes)
        if let problem = role.problem(header: header, size: size) {
            throw VMLabError(.invalidInput, "\(describe(name, in: workspace)) \(problem)")
        }
    }

    /// lstat, so a link is named as such (open's O_NOFOLLOW refuses it too, with ELOOP).
    static func refuseLink(_ path: String, name: String, role: Role, in workspace: Workspace) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw missing(name, role: role, in: workspace) }
        if info.st_mode & S_IFMT == S_IFLNK {
            throw fileError(name, BoundedFile.Problem.notARegularFile("a symbolic link"), role: role, in: workspace)
        }
    }

    static func describe(_ name: String, in workspace: Workspace) -> String {
        workspace.directory.map { "workspace file \($0.appendingPathComponent(name).path)" }
            ?? "handed-in workspace file \(name)"
    }

    static func fix(_ role: Role) -> String {
        role == .kernel ? "build it with `make bzImage` and copy arch/x86/boot/bzImage there"
            : "make one with `find . | cpio -o -H newc | gzip` and copy it there"
    }

    static func missing(_ name: String, role: Role, in workspace: Workspace) -> VMLabError {
        VMLabError(.notFound, "\(describe(name, in: workspace)) does not exist, and a VM boots it as its \(role.rawValue); "
            + fix(role))
    }

    static func tooLarge(_ name: String, role: Role, in workspace: Workspace) -> VMLabError {
        VMLabError(.invalidInput, "\(describe(name, in: workspace)) is larger than the \(role.rawValue) limit of "
            + "\(BoundedFile.byteCount(role.limit))")
    }

    static func fileError(_ name: String, _ error: any Error, role: Role, in workspace: Workspace) -> VMLabError {
        if let problem = error as? BoundedFile.Problem, case .cannotOpen = problem, workspace.directory.map({
            !FileManager.default.fileExists(atPath: $0.appendingPathComponent(name).path) }) == true {
            return missing(name, role: role, in: workspace)
        }
        if let problem = error as? BoundedFile.Problem, case .notARegularFile = problem {
            return VMLabError(.invalidInput, "\(describe(name, in: workspace)): \(problem); copy the \(role.rawValue) "
                + "itself into the workspace (a link could point out of it)")
        }
        return VMLabError(.invalidInput, "\(describe(name, in: workspace)): \(error)")
    }
}
