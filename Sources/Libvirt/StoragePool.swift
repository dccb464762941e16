internal import CLibvirt
import Foundation

/// A libvirt storage pool: on a pool host, the folder (a `dir` pool) where images and
/// overlays live as volumes that vmlab reaches only through libvirt, never by path.
///
/// `@unchecked Sendable`: libvirt storage pool handles are thread-safe, and this class
/// holds no mutable Swift state.
public final class StoragePool: @unchecked Sendable {
    let handle: OpaquePointer
    /// The pool's name, unique on its connection.
    public let name: String

    /// Takes ownership of one reference to a `virStoragePoolPtr`.
    init(taking handle: OpaquePointer) {
        self.handle = handle
        self.name = virStoragePoolGetName(handle).map { String(cString: $0) } ?? ""
    }

    deinit { virStoragePoolFree(handle) }

    /// Makes the pool's target (for a `dir` pool, its folder) on the host.
    public func build() throws {
        try check(virStoragePoolBuild(handle, 0), "virStoragePoolBuild")
    }

    /// Starts the defined pool.
    public func start() throws {
        try check(virStoragePoolCreate(handle, 0), "virStoragePoolCreate")
    }

    /// Whether the pool is running (its volumes can be used).
    public func isActive() throws -> Bool {
        try check(virStoragePoolIsActive(handle), "virStoragePoolIsActive") == 1
    }

    /// Whether libvirt starts the pool when its daemon starts.
    public func setAutostart(_ on: Bool) throws {
        try check(virStoragePoolSetAutostart(handle, on ? 1 : 0), "virStoragePoolSetAutostart")
    }

    /// Rescans the pool's target, so volumes made behind libvirt's back are seen.
    public func refresh() throws {
        try check(virStoragePoolRefresh(handle, 0), "virStoragePoolRefresh")
    }

    /// Stops the pool (its files stay).
    public func destroy() throws {
        try check(virStoragePoolDestroy(handle), "virStoragePoolDestroy")
    }

    /// Removes the persistent definition (its files stay).
    public func undefine() throws {
        try check(virStoragePoolUndefine(handle), "virStoragePoolUndefine")
    }

    /// The pool's XML definition.
    public func xmlDescription() throws -> String {
        try takeString(check(virStoragePoolGetXMLDesc(handle, 0), "virStoragePoolGetXMLDesc"))
    }

    /// Creates a volume from its XML (name, capacity, format, backing store).
    public func createVolume(xml: String) throws -> StorageVolume {
        StorageVolume(taking: try check(virStorageVolCreateXML(handle, xml, 0), "virStorageVolCreateXML"))
    }

    /// The volume called `named`, or nil when the pool has none; any other failure throws.
    public func lookupVolume(named: String) throws -> StorageVolume? {
        do {
            return StorageVolume(taking: try check(virStorageVolLookupByName(handle, named), "virStorageVolLookupByName"))
        } catch let error as LibvirtError where error.isNotFound {
            return nil
        }
    }

    /// Every volume of the (running) pool.
    public func volumes() throws -> [StorageVolume] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = try check(virStoragePoolListAllVolumes(handle, &list, 0), "virStoragePoolListAllVolumes")
        defer { free(list) }
        return (0..<Int(count)).compactMap { list?[$0].map(StorageVolume.init(taking:)) }
    }
}
