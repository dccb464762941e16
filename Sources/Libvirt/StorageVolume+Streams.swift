internal import CLibvirt
import Foundation

/// A volume's bytes through libvirt streams: uploading a local file, downloading a range,
/// and copying one volume into another on the same host. Each moves at most a known
/// length, in chunks, within a timeout, and aborts its streams on any error.
extension StorageVolume {
    /// Sends the local file `file` into the volume through a libvirt stream
    /// (virStorageVolUpload), in chunks of `chunkBytes`, within `timeout`: past it the stream
    /// is aborted and the call throws, leaving the volume's content incomplete (callers
    /// record completion elsewhere). The file must not be longer than the volume.
    public func upload(from file: URL, timeout: Duration, chunkBytes: Int = 1 << 20) throws {
        guard let input = FileHandle(forReadingAtPath: file.path) else {
            throw LibvirtError.local(VIR_ERR_OPERATION_FAILED, "cannot read \(file.path) to upload it into volume \(name)")
        }
        defer { try? input.close() }
        let length = try input.seekToEnd()
        try input.seek(toOffset: 0)
        let sink = try stream()
        defer { virStreamFree(sink) }
        try check(virStorageVolUpload(handle, sink, 0, length, 0), "virStorageVolUpload")
        try Self.pump(length, chunkBytes: chunkBytes, timeout: timeout, streams: [sink], what: "uploading \(file.path) into volume \(name)",
                      read: { buffer in
                          let chunk = try input.read(upToCount: buffer.count) ?? Data()
                          return chunk.copyBytes(to: buffer)
                      },
                      write: { try Self.sendAll(sink, $0) })
        try Self.finish([sink])
    }

    /// `length` bytes of the volume's file from `offset` (fewer if it ends first), through a
    /// download stream, within `timeout`.
    public func download(offset: UInt64, length: UInt64, timeout: Duration = .seconds(60)) throws -> Data {
        guard length > 0 else { return Data() }
        let source = try stream()
        defer { virStreamFree(source) }
        try check(virStorageVolDownload(handle, source, offset, length, 0), "virStorageVolDownload")
        var data = Data()
        try Self.pump(length, chunkBytes: 1 << 16, timeout: timeout, streams: [source], what: "reading volume \(name)", mayEndEarly: true,
                      read: { try Self.receive(source, into: $0) },
                      write: { data.append(contentsOf: $0) })
        try Self.finish([source])
        return data
    }

    /// Copies the volume's bytes, as its file on the host holds them (a qcow2 overlay stays an
    /// overlay on the same backing path), into `target` of the same host: a download stream
    /// fed into an upload stream, in chunks of `chunkBytes`, within `timeout`. libvirt has no
    /// thin copy: virStorageVolCreateXMLFrom converts through the whole backing chain. `target`
    /// must be at least as long as this volume's file (`sizes().physical`).
    public func copyContent(to target: StorageVolume, timeout: Duration, chunkBytes: Int = 1 << 20) throws {
        let length = try sizes().physical
        let source = try stream()
        defer { virStreamFree(source) }
        let sink = try stream()
        defer { virStreamFree(sink) }
        try check(virStorageVolDownload(handle, source, 0, length, 0), "virStorageVolDownload")
        do {
            try check(virStorageVolUpload(target.handle, sink, 0, length, 0), "virStorageVolUpload")
        } catch {
            virStreamAbort(source)
            throw error
        }
        try Self.pump(length, chunkBytes: chunkBytes, timeout: timeout, streams: [source, sink],
                      what: "copying volume \(name) into \(target.name)",
                      read: { try Self.receive(source, into: $0) },
                      write: { try Self.sendAll(sink, $0) })
        try Self.finish([source, sink])
    }

    // MARK: helpers

    /// A new stream on the volume's connection (the caller frees it).
    func stream() throws -> OpaquePointer {
        let connection = try check(virStorageVolGetConnect(handle), "virStorageVolGetConnect")
        return try check(virStreamNew(connection, 0), "virStreamNew")
    }

    /// Moves `length` bytes, a chunk at a time, from `read` (0: the end) to `write`, within
    /// `timeout`. An end before `length` is an error unless `mayEndEarly`. On any error the
    /// `streams` are aborted.
    static func pump(_ length: UInt64, chunkBytes: Int, timeout: Duration, streams: [OpaquePointer], what: String,
                     mayEndEarly: Bool = false, read: (UnsafeMutableRawBufferPointer) throws -> Int,
                     write: (UnsafeRawBufferPointer) throws -> Void) throws {
        let deadline = ContinuousClock.now + timeout
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var moved: UInt64 = 0
        do {
            while moved < length {
                guard ContinuousClock.now < deadline else {
                    throw LibvirtError.local(VIR_ERR_OPERATION_TIMEOUT, "\(what) took longer than \(timeout.components.seconds) s "
                        + "(\(moved) of \(length) bytes); the host or its link is too slow")
                }
                let wanted = UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(Int(min(UInt64(chunkBytes), length - moved))))
                let count = try read(wanted)
                guard count > 0 else {
                    if mayEndEarly { break }
                    throw LibvirtError.local(VIR_ERR_OPERATION_FAILED, "\(what): the source ended after \(moved) of \(length) bytes")
                }
                try write(UnsafeRawBufferPointer(rebasing: wanted.prefix(count)))
                moved += UInt64(count)
            }
        } catch {
            for stream in streams { virStreamAbort(stream) }
            throw error
        }
    }

    /// Finishes the streams in order (the last byte is on the host once an upload's is
    /// finished); on a failure, aborts those not yet finished.
    static func finish(_ streams: [OpaquePointer]) throws {
        for (index, stream) in streams.enumerated() {
            do { try check(virStreamFinish(stream), "virStreamFinish") } catch {
                for rest in streams[index...] { virStreamAbort(rest) }
                throw error
            }
        }
    }

    /// Receives at most `buffer.count` bytes from `stream`; 0 at its end.
    static func receive(_ stream: OpaquePointer, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        Int(try check(virStreamRecv(stream, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count), "virStreamRecv"))
    }

    /// Sends all of `bytes` into `stream` (one virStreamSend may take only part of them).
    static func sendAll(_ stream: OpaquePointer, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = virStreamSend(stream, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                                     bytes.count - offset)
            offset += Int(try check(sent, "virStreamSend"))
        }
    }
}
