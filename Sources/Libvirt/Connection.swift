internal import CLibvirt
import Foundation

/// An open connection to a libvirt driver (`qemu:///system`, `qemu+ssh://host/system`,
/// `test:///default`...): the entry point for looking up and defining domains and networks.
///
/// `@unchecked Sendable`: libvirt connection handles are thread-safe (libvirt locks
/// them internally), and the only mutable Swift state, the handle slot that `close()`
/// clears, is guarded by a lock.
public final class Connection: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: OpaquePointer?
    private let requestedURI: String?
    private let openTimeout: Duration

    /// A silent libvirtd is given up on after `keepAliveInterval` × (`keepAliveCount` + 1)
    /// seconds: 20 s, well inside the minute a lab command may take to notice.
    static let keepAliveInterval: Int32 = 5
    static let keepAliveCount: UInt32 = 3

    /// Opens a read-write connection to `uri`; nil lets libvirt choose its default
    /// (`LIBVIRT_DEFAULT_URI`, then probing). A libvirtd that does not answer within
    /// `openTimeout` (hung, or stopped with SIGSTOP) is an error, not a wait without end.
    public init(uri: String?, openTimeout: Duration = .seconds(30)) throws {
        _ = silenceLibvirtErrorPrinter
        _ = EventLoop.running
        requestedURI = uri
        self.openTimeout = openTimeout
        handle = try Self.open(uri, timeout: openTimeout)
    }

    /// virConnectOpen on a thread of its own, so that a hung daemon costs `timeout`, then
    /// keepalive on the new connection. A late answer after the timeout is closed.
    private static func open(_ uri: String?, timeout: Duration) throws -> OpaquePointer {
        final class Attempt: @unchecked Sendable {
            let lock = NSLock()
            var result: Result<OpaquePointer, LibvirtError>?
            var abandoned = false
        }
        let attempt = Attempt()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let opened = withOptionalCString(uri) { virConnectOpen($0) }
            let result: Result<OpaquePointer, LibvirtError> = opened.map { .success($0) }
                ?? .failure(LibvirtError.last("virConnectOpen"))
            let taken = attempt.lock.withLock {
                if !attempt.abandoned { attempt.result = result }
                return !attempt.abandoned
            }
            if !taken, case .success(let late) = result { virConnectClose(late) }
            done.signal()
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        _ = done.wait(timeout: .now() + seconds)
        let result = attempt.lock.withLock {
            attempt.abandoned = attempt.result == nil
            return attempt.result
        }
        switch result {
        case .success(let opened):
            // Drivers without a daemon (test:///) have no keepalive and nothing to hang on.
            if virConnectSetKeepAlive(opened, keepAliveInterval, keepAliveCount) < 0 {
                let error = LibvirtError.last("virConnectSetKeepAlive")
                guard error.code == LibvirtError.code(VIR_ERR_NO_SUPPORT) else {
                    virConnectClose(opened)
                    throw error
                }
            }
            return opened
        case .failure(let error):
            throw error
        case nil:
            throw LibvirtError.local(VIR_ERR_OPERATION_TIMEOUT,
                "libvirtd at \(uri ?? "the default URI") did not answer within \(Int(seconds)) s; is it hung? "
                + "check it with `virsh -c \(uri ?? "qemu:///system") version`, or restart it (scripts/stop.sh, scripts/setup.sh)")
        }
    }

    deinit { close() }

    /// Releases this connection. Idempotent; objects obtained from it (domains,
    /// networks, streams) keep the underlying libvirt connection alive until they go.
    public func close() {
        let old: OpaquePointer? = lock.withLock {
            defer { handle = nil }
            return handle
        }
        if let old { virConnectClose(old) }
    }

    /// Runs `body` with a referenced raw handle, so a concurrent `close()` cannot free
    /// it mid-call. Throws if the connection was closed. A connection libvirt found dead
    /// (libvirtd restarted, or silent past keepalive) is opened again first, so a
    /// long-lived process goes on once the daemon is back; objects looked up on the old
    /// connection keep failing, with the lost-connection hint.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        let raw: OpaquePointer = try lock.withLock {
            guard let current = handle else {
                throw LibvirtError.local(VIR_ERR_INVALID_CONN, "the libvirt connection is closed")
            }
            if virConnectIsAlive(current) == 0 {
                handle = try Self.open(requestedURI, timeout: openTimeout)
                virConnectClose(current)
            }
            let live = handle!
            virConnectRef(live)
            return live
        }
        defer { virConnectClose(raw) }
        return try body(raw)
    }

    // MARK: - Host

    /// The canonical URI of this connection, to show which host and driver are in use.
    public func uri() throws -> String {
        try withHandle { try takeString(check(virConnectGetURI($0), "virConnectGetURI")) }
    }

    /// The host name of the machine libvirt runs on, for reports and host pools.
    public func hostname() throws -> String {
        try withHandle { try takeString(check(virConnectGetHostname($0), "virConnectGetHostname")) }
    }

    /// The driver's capabilities XML (architectures, domain types such as kvm/qemu).
    public func capabilitiesXML() throws -> String {
        try withHandle { try takeString(check(virConnectGetCapabilities($0), "virConnectGetCapabilities")) }
    }

    /// The libvirt library version on the far side, as major * 1_000_000 + minor * 1_000 + micro.
    public func libvirtVersion() throws -> UInt {
        try withHandle { raw in
            var version: UInt = 0
            try check(virConnectGetLibVersion(raw, &version), "virConnectGetLibVersion")
            return version
        }
    }

    /// Free memory on the host in bytes, to place guests where they fit.
    public func nodeFreeMemoryBytes() throws -> UInt64 {
        try withHandle { raw in
            let bytes = virNodeGetFreeMemory(raw)
            // 0 is the failure value; libvirt resets the last error on entry, so a
            // set error means this call failed.
            if bytes == 0, virGetLastError() != nil { throw LibvirtError.last("virNodeGetFreeMemory") }
            return UInt64(bytes)
        }
    }

    // MARK: - Domains

    /// Defines (persists, without starting) a domain from its XML; replaces the
    /// definition of an existing domain with the same name and UUID.
    public func defineDomain(xml: String) throws -> Domain {
        try withHandle { Domain(taking: try check(virDomainDefineXML($0, xml), "virDomainDefineXML")) }
    }

    /// The domain called `named`; throws a `LibvirtError` with `isNotFound` if there is none.
    public func domain(named: String) throws -> Domain {
        do {
            return try withHandle { Domain(taking: try check(virDomainLookupByName($0, named), "virDomainLookupByName")) }
        } catch let error as LibvirtError {
            throw error.naming("domain", named)
        }
    }

    /// The domain called `named`, or nil when libvirt says there is no such domain. Any
    /// other failure (libvirtd down or restarting) throws: absence must be proven, because
    /// callers forget their records of what they find absent.
    public func lookupDomain(named: String) throws -> Domain? {
        do { return try domain(named: named) } catch let error as LibvirtError where error.isNotFound { return nil }
    }

    /// Every domain libvirt knows on this connection, running or not.
    public func allDomains() throws -> [Domain] {
        try withHandle { raw in
            var list: UnsafeMutablePointer<OpaquePointer?>?
            let count = try check(virConnectListAllDomains(raw, &list, 0), "virConnectListAllDomains")
            defer { free(list) }
            return (0..<Int(count)).compactMap { list?[$0].map(Domain.init(taking:)) }
        }
    }

    // MARK: - Networks

    /// Defines (persists, without starting) a virtual network from its XML.
    public func defineNetwork(xml: String) throws -> Network {
        try withHandle { Network(taking: try check(virNetworkDefineXML($0, xml), "virNetworkDefineXML")) }
    }

    /// The network called `named`; throws a `LibvirtError` with `isNotFound` if there is none.
    public func network(named: String) throws -> Network {
        do {
            return try withHandle { Network(taking: try check(virNetworkLookupByName($0, named), "virNetworkLookupByName")) }
        } catch let error as LibvirtError {
            throw error.naming("network", named)
        }
    }

    /// The network called `named`, or nil when libvirt says there is no such network; any
    /// other failure throws (see `lookupDomain`).
    public func lookupNetwork(named: String) throws -> Network? {
        do { return try network(named: named) } catch let error as LibvirtError where error.isNotFound { return nil }
    }

    /// Every virtual network on this connection, active or not.
    public func allNetworks() throws -> [Network] {
        try withHandle { raw in
            var list: UnsafeMutablePointer<OpaquePointer?>?
            let count = try check(virConnectListAllNetworks(raw, &list, 0), "virConnectListAllNetworks")
            defer { free(list) }
            return (0..<Int(count)).compactMap { list?[$0].map(Network.init(taking:)) }
        }
    }
}
