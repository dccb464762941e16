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

    /// Copies the volume's bytes, as its file on the host holds them (a qcow2 overlay stays an
    /// overlay on the same backing path), into `target` of the same host: a download stream
    /// fed into an upload stream, in chunks of `chunkBytes`, within `timeout`. libvirt has no
    /// thin copy: virStorageVolCreateXMLFrom converts through the whole backing chain. `target`
    /// must be at least as long as this volume's file (`sizes().physical`).
    public func copyContent(to target: StorageVolume, timeout: Duration, chunkBytes: Int = 1 << 20) throws {
        let length = try sizes().physical
        let connection = try check(virStorageVolGetConnect(handle), "virStorageVolGetConnect")
        let source = try check(virStreamNew(connection, 0), "virStreamNew")
        defer { virStreamFree(source) }
        let sink = try check(virStreamNew(connection, 0), "virStreamNew")
        defer { virStreamFree(sink) }
        try check(virStorageVolDownload(handle, source, 0, length, 0), "virStorageVolDownload")
        do {
            try check(virStorageVolUpload(target.handle, sink, 0, length, 0), "virStorageVolUpload")
        } catch {
            virStreamAbort(source)
            throw error
        }
        let deadline = ContinuousClock.now + timeout
        var buffer = [CChar](repeating: 0, count: chunkBytes)
        var copied: UInt64 = 0
        do {
            while copied < length {
                guard ContinuousClock.now < deadline else {
                    throw LibvirtError.local(VIR_ERR_OPERATION_TIMEOUT, "copying volume \(name) into \(target.name) took longer "
                        + "than \(timeout.components.seconds) s (\(copied) of \(length) bytes); the host is too slow")
                }
                let received = Int(try check(virStreamRecv(source, &buffer, min(chunkBytes, Int(length - copied))), "virStreamRecv"))
                guard received > 0 else {
                    throw LibvirtError.local(VIR_ERR_OPERATION_FAILED, "volume \(name) ended after \(copied) of \(length) bytes while copying it")
                }
                var offset = 0
                while offset < received {
                    let sent = buffer.withUnsafeBufferPointer { raw in
                        virStreamSend(sink, raw.baseAddress!.advanced(by: offset), received - offset)
                    }
                    offset += Int(try check(sent, "virStreamSend"))
                }
                copied += UInt64(received)
            }
            try check(virStreamFinish(source), "virStreamFinish")
            try check(virStreamFinish(sink), "virStreamFinish")
        } catch {
            virStreamAbort(source)
            virStreamAbort(sink)
            throw error
        }
    }

    /// `length` bytes of the volume's file from `offset` (fewer if it ends first), through a
    /// download stream, within `timeout`.
    public func download(offset: UInt64, length: UInt64, timeout: Duration = .seconds(60)) throws -> Data {
        guard length > 0 else { return Data() }
        let connection = try check(virStorageVolGetConnect(handle), "virStorageVolGetConnect")
        let stream = try check(virStreamNew(connection, 0), "virStreamNew")
        defer { virStreamFree(stream) }
        try check(virStorageVolDownload(handle, stream, offset, length, 0), "virStorageVolDownload")
        let deadline = ContinuousClock.now + timeout
        var data = Data()
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        do {
            while UInt64(data.count) < length {
                guard ContinuousClock.now < deadline else {
                    throw LibvirtError.local(VIR_ERR_OPERATION_TIMEOUT, "reading volume \(name) took longer than "
                        + "\(timeout.components.seconds) s (\(data.count) of \(length) bytes)")
                }
                let received = Int(try check(virStreamRecv(stream, &buffer, min(buffer.count, Int(length) - data.count)), "virStreamRecv"))
                if received == 0 { break }
                buffer.withUnsafeBytes { data.append(contentsOf: $0.prefix(received)) }
            }
            try check(virStreamFinish(stream), "virStreamFinish")
        } catch {
            virStreamAbort(stream)
            throw error
        }
        return data
    }

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
        let connection = try check(virStorageVolGetConnect(handle), "virStorageVolGetConnect")
        let stream = try check(virStreamNew(connection, 0), "virStreamNew")
        defer { virStreamFree(stream) }
        try check(virStorageVolUpload(handle, stream, 0, UInt64(length), 0), "virStorageVolUpload")
        let deadline = ContinuousClock.now + timeout
        var sent: UInt64 = 0
        do {
            while sent < length {
                guard ContinuousClock.now < deadline else {
                    throw LibvirtError.local(VIR_ERR_OPERATION_TIMEOUT, "uploading \(file.path) into volume \(name) took "
                        + "longer than \(timeout.components.seconds) s (\(sent) of \(length) bytes sent); the host or its link is too slow")
                }
                let chunk = try input.read(upToCount: chunkBytes) ?? Data()
                guard !chunk.isEmpty else {
                    throw LibvirtError.local(VIR_ERR_OPERATION_FAILED, "\(file.path) ended after \(sent) of \(length) bytes while uploading it")
                }
                var offset = 0
                while offset < chunk.count {
                    let n = chunk.withUnsafeBytes { raw in
                        virStreamSend(stream, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                                      raw.count - offset)
                    }
                    offset += Int(try check(n, "virStreamSend"))
                }
                sent += UInt64(chunk.count)
            }
            try check(virStreamFinish(stream), "virStreamFinish")
        } catch {
            virStreamAbort(stream)
            throw error
        }
    }
}
