internal import CLibvirt
import Foundation

extension Connection {
    /// Defines (persists, without starting) a storage pool from its XML.
    public func defineStoragePool(xml: String) throws -> StoragePool {
        try withHandle { StoragePool(taking: try check(virStoragePoolDefineXML($0, xml, 0), "virStoragePoolDefineXML")) }
    }

    /// The storage pool called `named`, or nil when libvirt says there is none; any other
    /// failure throws (see `lookupDomain`).
    public func lookupStoragePool(named: String) throws -> StoragePool? {
        do {
            return try withHandle {
                StoragePool(taking: try check(virStoragePoolLookupByName($0, named), "virStoragePoolLookupByName"))
            }
        } catch let error as LibvirtError where error.isNotFound {
            return nil
        } catch let error as LibvirtError {
            throw error.naming("storage pool", named)
        }
    }
}
