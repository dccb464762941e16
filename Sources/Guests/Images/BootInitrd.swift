import Foundation
import VMLabSupport

/// The initrd a guest boots with: supermin's own static `init` (it loads the modules listed
/// in /modules, mounts root= and switches to it) with only the kernel modules a vmlab guest
/// needs. supermin's initrd carries about 45 (IDE, SCSI, NVDIMM, virtio-crypto, FUSE...):
/// under TCG, loading them and probing the IDE bus took seconds of every boot. The device
/// drivers the guest's /init used to load with modprobe are loaded here too, by the static
/// init, instead of by a dynamically linked modprobe after the root is mounted.
public enum BootInitrd {
    /// Module names (as modprobe knows them), each loaded after its dependencies.
    /// Root: virtio PCI transport, virtio disk, ext4 (which mounts the ext2 root).
    /// Devices: agent channel, balloon, NICs, RNG, pvpanic; crc32c for ext4 data disks with
    /// metadata checksums (mkfs.ext4's default).
    public static let modules = [
        "virtio_pci", "virtio_blk", "ext4",
        "virtio_console", "virtio_balloon", "virtio_net", "virtio_rng", "pvpanic_mmio", "crc32c_generic",
    ]

    /// Builds the initrd from supermin's (`superminInitrd`) and the kernel's modules under
    /// `moduleDirectory` (/lib/modules/RELEASE, with modules.dep).
    public static func make(superminInitrd: Data, moduleDirectory: URL, modules: [String] = modules) throws -> Data {
        guard let initFile = try CPIOArchive.files(in: superminInitrd).first(where: { $0.name == "init" }) else {
            throw VMLabError(.failed, "supermin's initrd has no /init; is supermin 5 installed?")
        }
        let builtin = (try? String(contentsOf: moduleDirectory.appendingPathComponent("modules.builtin"), encoding: .utf8)) ?? ""
        let files = try loadOrder(modules, dependencies: try dependencies(in: moduleDirectory),
                                  builtin: Set(builtin.split(separator: "\n").map { moduleName(String($0)) }))
        var entries: [CPIOArchive.Entry] = [.file("init", contents: initFile.contents, mode: 0o755)]
        for file in files {
            let url = moduleDirectory.appendingPathComponent(file)
            entries.append(.file(url.lastPathComponent, contents: try Data(contentsOf: url), mode: 0o644))
        }
        let list = files.map { URL(fileURLWithPath: $0).lastPathComponent + "\n" }.joined()
        entries.append(.file("modules", contents: Data(list.utf8), mode: 0o644))
        return CPIOArchive(entries: entries).encoded()
    }

    /// modules.dep: module file (relative to the module directory) -> the files it needs.
    static func dependencies(in moduleDirectory: URL) throws -> [String: [String]] {
        let url = moduleDirectory.appendingPathComponent("modules.dep")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw VMLabError(.unavailable, "cannot read \(url.path); the guest kernel's modules must be installed on the host "
                + "(`apt-get install linux-image-amd64`, then `depmod`)")
        }
        var deps: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            deps[String(line[..<colon])] = line[line.index(after: colon)...].split(separator: " ").map(String.init)
        }
        return deps
    }

    /// The name modprobe knows a module file by (it treats - and _ alike).
    static func moduleName(_ file: String) -> String {
        var base = URL(fileURLWithPath: file).lastPathComponent
        if let dot = base.range(of: ".ko") { base = String(base[..<dot.lowerBound]) }
        return base.replacingOccurrences(of: "-", with: "_")
    }

    /// The files to load for `names`, each after everything it needs, each once. Names
    /// built into the kernel (`builtin`) need no file.
    static func loadOrder(_ names: [String], dependencies: [String: [String]], builtin: Set<String> = []) throws -> [String] {
        var byName: [String: String] = [:]
        for file in dependencies.keys { byName[moduleName(file)] = file }
        var order: [String] = []
        var seen = Set<String>()
        func visit(_ file: String) {
            guard seen.insert(file).inserted else { return }
            for dep in dependencies[file] ?? [] { visit(dep) }
            order.append(file)
        }
        for name in names {
            let name = moduleName(name)
            if builtin.contains(name) { continue }
            guard let file = byName[name] else {
                throw VMLabError(.notFound, "the guest kernel has no module \(name) (not in modules.dep)")
            }
            visit(file)
        }
        return order
    }
}
