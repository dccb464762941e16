internal import CLibvirt
import Foundation

/// A snapshot of a domain (internal qcow2 snapshot: disks and, when running, memory),
/// to return a guest to a known state in seconds instead of rebuilding it.
///
/// `@unchecked Sendable`: libvirt snapshot handles are thread-safe like the domain
/// handles they belong to, and this class holds no mutable Swift state.
public final class Snapshot: @unchecked Sendable {
    let handle: OpaquePointer
    /// The snapshot's name, unique within its domain.
    public let name: String

    /// Takes ownership of one reference to a `virDomainSnapshotPtr`.
    init(taking handle: OpaquePointer) {
        self.handle = handle
        self.name = virDomainSnapshotGetName(handle).map { String(cString: $0) } ?? ""
    }

    deinit { virDomainSnapshotFree(handle) }

    /// The snapshot's `<domainsnapshot>` XML (name, description, state, creation time, domain).
    public func xmlDescription() throws -> String {
        try takeString(check(virDomainSnapshotGetXMLDesc(handle, 0), "virDomainSnapshotGetXMLDesc"))
    }

    /// When the snapshot was taken (its `<creationTime>`), or nil if the XML has none.
    public func creationTime() throws -> Date? {
        Self.creationTime(fromXML: try xmlDescription())
    }

    /// Deletes the snapshot and its data (not its children).
    public func delete() throws {
        try check(virDomainSnapshotDelete(handle, 0), "virDomainSnapshotDelete")
    }

    /// Reads the top-level `<creationTime>` (seconds since the epoch) of snapshot XML.
    static func creationTime(fromXML xml: String) -> Date? {
        // The element appears once, before the embedded <domain>, and holds only digits.
        guard let open = xml.range(of: "<creationTime>"),
              let close = xml.range(of: "</creationTime>", range: open.upperBound..<xml.endIndex),
              let seconds = Int64(xml[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

extension Domain {
    /// Takes a snapshot named `name` (with an optional free-text description) of the
    /// domain's current state. `atomic` asks libvirt to leave no partial snapshot on failure.
    public func createSnapshot(name: String, description: String? = nil, atomic: Bool = true) throws -> Snapshot {
        var xml = "<domainsnapshot><name>\(xmlEscaped(name))</name>"
        if let description { xml += "<description>\(xmlEscaped(description))</description>" }
        xml += "</domainsnapshot>"
        let flags = atomic ? VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.rawValue : 0
        return Snapshot(taking: try check(virDomainSnapshotCreateXML(handle, xml, flags), "virDomainSnapshotCreateXML"))
    }

    /// The snapshot called `named`; throws a `LibvirtError` with `isNotFound` if there is none.
    public func snapshot(named: String) throws -> Snapshot {
        do {
            return Snapshot(taking: try check(virDomainSnapshotLookupByName(handle, named, 0), "virDomainSnapshotLookupByName"))
        } catch let error as LibvirtError {
            throw error.naming("snapshot of domain '\(name)'", named)
        }
    }

    /// All snapshots of this domain.
    public func snapshots() throws -> [Snapshot] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = try check(virDomainListAllSnapshots(handle, &list, 0), "virDomainListAllSnapshots")
        defer { free(list) }
        return (0..<Int(count)).compactMap { list?[$0].map(Snapshot.init(taking:)) }
    }

    /// Returns the domain to `snapshot`. With `forceRunning` the domain runs afterwards
    /// even if the snapshot was taken while it was shut off.
    public func revert(to snapshot: Snapshot, forceRunning: Bool = false) throws {
        let flags = forceRunning ? VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING.rawValue : 0
        try check(virDomainRevertToSnapshot(snapshot.handle, flags), "virDomainRevertToSnapshot")
    }
}
