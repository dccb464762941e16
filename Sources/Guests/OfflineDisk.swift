import Foundation
import Guestfs
import VMLabSupport

/// Reading a file from a guest's disk while the guest is down, through libguestfs.
public enum OfflineDisk {
    /// The file at `path` in the root file system of the qcow2 `disk`, or nil when it does
    /// not exist. The guest's owner decides what the disk holds, so only a regular file of
    /// at most `maxBytes` is read: not a symlink (out to anything), not a device node.
    /// `kvm` says whether libguestfs's appliance may use KVM: where the probe found KVM
    /// hangs, the appliance would hang too.
    public static func readFile(_ path: String, disk: String, kvm: Bool,
                                maxBytes: Int = GuestAgent.defaultMaxFileBytes) async throws -> Data? {
        let bytes: [UInt8]? = try await offPool {
            let image = try GuestImage(disks: [.init(path: disk, format: "qcow2", readOnly: true)],
                                       accelerator: kvm ? .automatic : .softwareOnly)
            defer { image.close() }
            try image.mount("/dev/sda", readOnly: true)
            guard try image.exists(path) else { return nil }
            guard try image.isRegularFile(path) else {
                throw VMLabError(.invalidInput, "\(path) on the guest's disk is not a regular file (a symlink, a device "
                                 + "or a folder); vmlab reads only regular files from a guest")
            }
            let size = try image.fileSize(path)
            guard size <= Int64(maxBytes) else {
                throw VMLabError(.failed, "\(path) on the guest's disk is \(size) bytes, larger than the \(maxBytes) "
                                 + "bytes vmlab reads from a guest")
            }
            return try image.readFile(path)
        }
        return bytes.map { Data($0) }
    }
}
