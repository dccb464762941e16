import Foundation
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// A guest's serial console as a blocking byte stream, so a command can attach a terminal
/// to it without seeing libvirt.
public struct GuestConsole: Sendable {
    let stream: ConsoleStream

    package init(stream: ConsoleStream) {
        self.stream = stream
    }

    /// Writes bytes to the console; returns how many it took.
    @discardableResult
    public func send(_ bytes: [UInt8]) throws -> Int { try stream.send(bytes) }

    /// Reads console output, blocking until some arrives; empty means the console closed.
    public func receive(maxBytes: Int = 4096) throws -> [UInt8] { try stream.receive(maxBytes: maxBytes) }

    /// Detaches at once; safe to call more than once.
    public func close() { stream.abort() }
}
