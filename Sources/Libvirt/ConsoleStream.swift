internal import CLibvirt
import Foundation

/// A blocking byte stream to a guest's console, to drive or log a serial console.
///
/// `@unchecked Sendable`: libvirt stream handles are thread-safe (one sender and one
/// receiver may use a stream from different threads), and the only mutable Swift
/// state, whether the stream was ended, is guarded by a lock.
public final class ConsoleStream: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = NSLock()
    private var ended = false

    /// Takes ownership of a `virStreamPtr` already attached to a console.
    init(taking handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        if !ended { virStreamAbort(handle) }  // libvirt requires ending before freeing
        virStreamFree(handle)
    }

    /// Writes `bytes` to the console, blocking until libvirt accepts some; returns how many it took.
    public func send(_ bytes: [UInt8]) throws -> Int {
        let sent = bytes.withUnsafeBytes { raw in
            virStreamSend(handle, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
        return Int(try check(sent, "virStreamSend"))
    }

    /// Reads up to `maxBytes` of console output, blocking until some arrive; empty means end of stream.
    public func receive(maxBytes: Int = 4096) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(maxBytes, 1))
        let received = buffer.withUnsafeMutableBytes { raw in
            virStreamRecv(handle, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
        let count = try check(received, "virStreamRecv")
        return Array(buffer.prefix(Int(count)))
    }

    /// Ends the stream cleanly after the last send.
    public func finish() throws {
        try check(virStreamFinish(handle), "virStreamFinish")
        markEnded()
    }

    /// Ends the stream at once, dropping pending data; safe to call more than once.
    public func abort() {
        guard markEnded() else { return }
        virStreamAbort(handle)
    }

    /// Records that the stream ended; false if it already had.
    @discardableResult
    private func markEnded() -> Bool {
        lock.withLock {
            defer { ended = true }
            return !ended
        }
    }
}
