internal import CLibvirt
import Foundation

/// An error reported by libvirt, copied out of its thread-local last-error slot
/// so it can cross threads and outlive the next libvirt call.
public struct LibvirtError: Error, CustomStringConvertible, Sendable {
    /// libvirt's error number (`virErrorNumber`, e.g. 42 = `VIR_ERR_NO_DOMAIN`).
    public let code: Int32
    /// The libvirt subsystem that raised it (`virErrorDomain`, e.g. 10 = `VIR_FROM_DOM`).
    public let domain: Int32
    /// libvirt's human-readable message; it names the object involved.
    public let message: String

    /// Makes an error from its parts; the bindings use it for their own argument checks.
    public init(code: Int32, domain: Int32, message: String) {
        self.code = code
        self.domain = domain
        self.message = message
    }

    /// True when the domain, network, snapshot, storage pool or volume asked for does not exist, so a
    /// caller can treat "already gone" as success during cleanup.
    public var isNotFound: Bool {
        code == Self.code(VIR_ERR_NO_DOMAIN)
            || code == Self.code(VIR_ERR_NO_NETWORK)
            || code == Self.code(VIR_ERR_NO_DOMAIN_SNAPSHOT)
            || code == Self.code(VIR_ERR_NO_STORAGE_POOL)
            || code == Self.code(VIR_ERR_NO_STORAGE_VOL)
    }

    /// True when the guest agent is not (yet) answering: not connected, timed out,
    /// or out of sync. Callers waiting for a guest to boot retry on this.
    /// An agent that is not configured at all is `VIR_ERR_ARGUMENT_UNSUPPORTED`
    /// and is deliberately not included: retrying cannot fix it.
    public var isAgentUnresponsive: Bool {
        code == Self.code(VIR_ERR_AGENT_UNRESPONSIVE) || code == Self.code(VIR_ERR_AGENT_UNSYNCED)
    }

    /// True when the connection to libvirtd itself broke (the daemon stopped or was
    /// restarted): every later call on this connection fails the same way.
    /// (An RPC error of kind VIR_ERR_RPC, such as a message too large to encode, is a
    /// failed call on a connection that still works.)
    public var isConnectionLost: Bool {
        (domain == Int32(VIR_FROM_RPC.rawValue) && code != Self.code(VIR_ERR_RPC)) || code == Self.code(VIR_ERR_NO_CONNECT)
            || (code == Self.code(VIR_ERR_INTERNAL_ERROR)
                && (message.contains("client socket is closed") || message.contains("keepalive")))
    }

    /// The message followed by the numeric code and domain, for logs; a lost connection
    /// says what probably happened and what to do.
    public var description: String {
        let hint = isConnectionLost
            ? "; the connection to libvirtd was lost (was it stopped or restarted?): once it is back, run `vmlab gc`"
            : ""
        return "\(message) (libvirt error code \(code), domain \(domain))\(hint)"
    }

    static func code(_ number: virErrorNumber) -> Int32 { Int32(number.rawValue) }

    /// An error raised by these bindings themselves (not by a libvirt call).
    static func local(_ number: virErrorNumber, _ message: String) -> LibvirtError {
        LibvirtError(code: code(number), domain: Int32(VIR_FROM_NONE.rawValue), message: message)
    }

    /// This error with `(noun 'name')` appended when the message does not name the
    /// object already (some drivers just say "Domain not found").
    func naming(_ noun: String, _ name: String) -> LibvirtError {
        guard !message.contains("'\(name)'") else { return self }
        return LibvirtError(code: code, domain: domain, message: "\(message) (\(noun) '\(name)')")
    }

    /// Copies the calling thread's last libvirt error. Must run on the thread, and
    /// before any other libvirt call, that follows the failed call.
    static func last(_ function: StaticString) -> LibvirtError {
        guard let error = virGetLastError() else {
            return .local(VIR_ERR_INTERNAL_ERROR, "\(function) failed without reporting an error")
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? "\(function) failed"
        return LibvirtError(code: error.pointee.code, domain: error.pointee.domain, message: message)
    }
}

/// Checks a libvirt `int` result (negative = failure) and throws the thread's last error.
@discardableResult
func check(_ result: Int32, _ function: StaticString) throws -> Int32 {
    guard result >= 0 else { throw LibvirtError.last(function) }
    return result
}

/// Checks a libvirt pointer result (NULL = failure) and throws the thread's last error.
func check<T>(_ result: T?, _ function: StaticString) throws -> T {
    guard let result else { throw LibvirtError.last(function) }
    return result
}

/// Copies a malloc'd C string returned by libvirt into a Swift string and frees it.
func takeString(_ pointer: UnsafeMutablePointer<CChar>) -> String {
    defer { free(pointer) }
    return String(cString: pointer)
}

/// Calls `body` with a C string for `string`, or NULL when it is nil.
func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let string else { return try body(nil) }
    return try string.withCString { try body($0) }
}

/// Replaces libvirt's default error printer (which writes every error to stderr)
/// with a no-op, once per process; errors still reach callers as `LibvirtError`.
let silenceLibvirtErrorPrinter: Void = {
    virSetErrorFunc(nil) { _, _ in }
}()

/// Escapes text for use inside an XML element or a quoted attribute.
func xmlEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(ch)
        }
    }
    return out
}
