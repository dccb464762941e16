import Foundation
import LabModel
import Libvirt
import VMLabSupport

/// Saved baselines on a pool host (`storage: pool`): the host cannot see this machine's
/// cache folder, so each VM's saved state and a copy of each of its disks are volumes of
/// vmlab's pool there, `vmlab-HOME-baseline-SLOT-VM[-DISK].qcow2` and
/// `vmlab-HOME-baseline-SLOT-VM.state`. The home's tag keeps the homes sharing a host
/// apart; the slot names the cache entry on this machine that owns them (the runner's
/// `BaselineCache`), so that gc removes the volumes no entry, and no live writer, owns.
extension HostVolumes {
    static let baselineWord = "baseline"

    /// The copy of one disk of a VM in a saved baseline (`disk` nil: the root overlay).
    public static func baselineDisk(home: String, slot: String, vm: String, disk: String? = nil) -> String {
        "\(Naming.prefix)\(home)-\(baselineWord)-\(slot)-\(vm)\(disk.map { "-\($0)" } ?? "").qcow2"
    }

    /// The saved memory and device state of one VM of a baseline.
    public static func baselineState(home: String, slot: String, vm: String) -> String {
        "\(Naming.prefix)\(home)-\(baselineWord)-\(slot)-\(vm).state"
    }

    /// The slot a volume belongs to when it is a baseline volume of the home `homeTag`, else nil.
    public static func slot(ofBaselineVolume name: String, homeTag: String) -> String? {
        let prefix = "\(Naming.prefix)\(homeTag)-\(baselineWord)-"
        guard !homeTag.isEmpty, name.hasPrefix(prefix), name.hasSuffix(".qcow2") || name.hasSuffix(".state") else { return nil }
        let rest = name.dropFirst(prefix.count)
        let slot = String(rest.prefix(8))
        guard Naming.isInstanceID(slot), rest.dropFirst(8).first == "-" else { return nil }
        return slot
    }

    /// An empty volume that a VM's save then fills (libvirt writes the state to a path on the
    /// host, and only a volume can be deleted from here); returns that path.
    public func createStateVolume(named name: String) throws -> String {
        try pool().createVolume(xml: Self.uploadVolumeXML(name: name, bytes: 0)).path()
    }

    /// Copies the bytes of volume `source` (an instance's overlay: it stays an overlay on the
    /// same image) into a new volume `name`; returns the new volume's path.
    public func copyVolume(_ source: String, to name: String, timeout: Duration = .seconds(600)) throws -> String {
        let pool = try pool()
        guard let from = try pool.lookupVolume(named: source) else {
            throw VMLabError(.notFound, "volume \(source) is not in pool \(HostStorage.poolName) of \(hostName)")
        }
        let target = try pool.createVolume(xml: Self.uploadVolumeXML(name: name, bytes: try from.sizes().physical))
        try from.copyContent(to: target, timeout: timeout)
        return try target.path()
    }

    /// The path on the host of a volume of the pool, or an error naming it.
    public func volumePath(_ name: String) throws -> String {
        guard let volume = try pool().lookupVolume(named: name) else {
            throw VMLabError(.notFound, "volume \(name) is not in pool \(HostStorage.poolName) of \(hostName)")
        }
        return try volume.path()
    }

    /// The bytes the named volumes take on the host (after a rescan: a save wrote behind
    /// libvirt's storage driver).
    public func physicalBytes(of names: [String]) throws -> Int64 {
        let pool = try pool()
        try pool.refresh()
        return try names.reduce(Int64(0)) { total, name in
            total + Int64(try pool.lookupVolume(named: name)?.sizes().physical ?? 0)
        }
    }

    /// This home's baseline volumes in the pool, by slot.
    public func baselineVolumes(homeTag: String) throws -> [String: [String]] {
        Dictionary(grouping: try instanceVolumes().compactMap { name in
            Self.slot(ofBaselineVolume: name, homeTag: homeTag).map { (slot: $0, name: name) }
        }, by: \.slot).mapValues { $0.map(\.name) }
    }

    /// Deletes this home's volumes of one baseline slot; returns their names.
    @discardableResult
    public func deleteBaseline(homeTag: String, slot: String) throws -> [String] {
        let names = try baselineVolumes(homeTag: homeTag)[slot] ?? []
        for name in names { try deleteVolume(named: name) }
        return names
    }

    var hostName: String { (try? connection.uri()) ?? "the host" }
}
