internal import CLibvirt
import Foundation

/// Saving a running guest's whole state (memory and devices) to a file and bringing it
/// back: a saved guest answers in about a second where a cold boot takes ten or more.
extension Domain {
    /// Pauses the guest's vCPUs; the process stays.
    public func suspend() throws {
        try check(virDomainSuspend(handle), "virDomainSuspend")
    }

    /// Lets a paused guest run again.
    public func resume() throws {
        try check(virDomainResume(handle), "virDomainResume")
    }

    /// Writes the guest's state to `path` and stops it (a persistent domain stays defined).
    /// With `paused`, a restore leaves it paused, so several guests can resume together.
    public func save(to path: String, paused: Bool = false) throws {
        let flags = paused ? VIR_DOMAIN_SAVE_PAUSED.rawValue : 0
        try check(virDomainSaveFlags(handle, path, nil, flags), "virDomainSaveFlags")
    }
}

extension Connection {
    /// Starts a guest from a state `save` wrote. `xml` may change what the guest's ABI
    /// does not see (disk paths, metadata), never its name or UUID: libvirt refuses those.
    public func restore(from path: String, xml: String? = nil, paused: Bool = false) throws {
        let flags = paused ? VIR_DOMAIN_SAVE_PAUSED.rawValue : VIR_DOMAIN_SAVE_RUNNING.rawValue
        try withHandle { raw in
            _ = try check(withOptionalCString(xml) { virDomainRestoreFlags(raw, path, $0, flags) }, "virDomainRestoreFlags")
        }
    }

    /// The domain XML kept in a saved state file.
    public func savedStateXML(_ path: String) throws -> String {
        try withHandle { raw in
            try takeString(check(virDomainSaveImageGetXMLDesc(raw, path, VIR_DOMAIN_SAVE_IMAGE_XML_SECURE.rawValue),
                                 "virDomainSaveImageGetXMLDesc"))
        }
    }
}
