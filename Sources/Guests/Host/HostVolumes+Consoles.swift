import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LabModel
import Libvirt
import VMLabSupport

/// Serial console logs on a pool host: virtlogd there writes each lab VM's console into
/// vmlab's pool folder as `vmlab-HOME-INSTANCE-VM-console.log`, and this machine reads it
/// back through download streams (the kernel-events measure, a run's console artifacts, a
/// panic's message), as it reads the file in the instance folder on a shared host.
/// virtlogd rotates a log past its cap into `….log.0`, `.1`, …; those go with it.
extension HostVolumes {
    static let consoleSuffix = "-console.log"

    /// The console log of one VM of an instance.
    public static func consoleVolume(home: String, instance: String, vm: String) -> String {
        "\(Naming.prefix)\(home)-\(instance)-\(vm)\(consoleSuffix)"
    }

    /// Whether `name` is a console log (or a rotated piece of one) rather than a disk.
    static func isConsoleLog(_ name: String) -> Bool {
        if name.hasSuffix(consoleSuffix) { return true }
        guard let dot = name.lastIndex(of: ".") else { return false }
        let number = name[name.index(after: dot)...]
        return !number.isEmpty && number.allSatisfy(\.isASCII) && number.allSatisfy(\.isNumber)
            && name[..<dot].hasSuffix(consoleSuffix)
    }

    /// The path on the host of a volume of the pool that libvirt has not made (virtlogd will):
    /// the pool's folder there and the name.
    public func pathOnHost(_ name: String) throws -> String {
        let xml = try pool().xmlDescription()
        guard let document = try? XMLDocument(xmlString: xml, options: []),
              let folder = try document.nodes(forXPath: "/pool/target/path").first?.stringValue, !folder.isEmpty else {
            throw VMLabError(.failed, "pool \(HostStorage.poolName) of \(hostName) names no folder")
        }
        return (folder.hasSuffix("/") ? folder : folder + "/") + name
    }

    /// A volume's length now, 0 while it is not there (after a rescan: virtlogd writes
    /// behind libvirt's storage driver).
    public func currentLength(_ name: String) throws -> UInt64 {
        let pool = try pool()
        try pool.refresh()
        return try pool.lookupVolume(named: name)?.sizes().physical ?? 0
    }

    /// A log volume's bytes from `offset` to its end, at most its last `maxBytes`; a log now
    /// shorter than `offset` was rotated, and is read from its start.
    public func tail(_ name: String, since offset: UInt64, maxBytes: Int) throws -> Data {
        let pool = try pool()
        try pool.refresh()
        guard let volume = try pool.lookupVolume(named: name) else { return Data() }
        let size = try volume.sizes().physical
        let start = max(size < offset ? 0 : offset, size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0)
        return try volume.download(offset: start, length: size - start)
    }

    /// Deletes a console log volume and its rotated pieces.
    func deleteConsoleLog(named name: String, in pool: StoragePool) throws {
        try pool.refresh()
        for volume in try pool.volumes() where volume.name == name || (volume.name.hasPrefix(name + ".") && Self.isConsoleLog(volume.name)) {
            try volume.delete()
        }
    }
}
