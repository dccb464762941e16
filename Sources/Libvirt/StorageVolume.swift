internal import CLibvirt
import Foundation

/// One volume of a storage pool: an image file, an overlay, a kernel.
///
/// `@unchecked Sendable`: libvirt storage volume handles are thread-safe, and this class
/// holds no mutable Swift state.
public final class StorageVolume: @unchecked Sendable {
    let handle: OpaquePointer
    /// The volume's name, unique in its pool.
    public let name: String

    /// Takes ownership of one reference to a `virStorageVolPtr`.
    init(taking handle: OpaquePointer) {
        self.handle = handle
        self.name = virStorageVolGetName(handle).map { String(cString: $0) } ?? ""
    }

    deinit { virStorageVolFree(handle) }

    /// The volume's path on its host: what a domain's disk, kernel or initrd names there.
    public func path() throws -> String {
        try takeString(check(virStorageVolGetPath(handle), "virStorageVolGetPath"))
    }

    /// Sizes in bytes: `capacity` as the guest sees it (a qcow2's virtual size), `physical`
    /// the file's length on the host (what an upload wrote).
    public func sizes() throws -> (capacity: UInt64, allocation: UInt64, physical: UInt64) {
        var info = virStorageVolInfo()
        try check(virStorageVolGetInfo(handle, &info), "virStorageVolGetInfo")
        var physicalInfo = virStorageVolInfo()
        try check(virStorageVolGetInfoFlags(handle, &physicalInfo, UInt32(VIR_STORAGE_VOL_GET_PHYSICAL.rawValue)),
                  "virStorageVolGetInfoFlags")
        return (UInt64(info.capacity), UInt64(info.allocation), UInt64(physicalInfo.allocation))
    }

    /// Deletes the volume and its file on the host.
    public func delete() throws {
        try check(virStorageVolDelete(handle, 0), "virStorageVolDelete")
    }

    /// The volume's XML description.
    public func xmlDescription() throws -> String {
        try takeString(check(virStorageVolGetXMLDesc(handle, 0), "virStorageVolGetXMLDesc"))
    }
}
