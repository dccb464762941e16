import Foundation
import Guestfs
import VMLabSupport

/// Reading a file from a guest's disk while the guest is down, through libguestfs.
public enum OfflineDisk {
    /// The file at `path` in the root file system of the qcow2 `disk`, or nil when it does
    /// not exist. `kvm` says whether libguestfs's appliance may use KVM: where the probe
    /// found KVM hangs, the appliance would hang too.
    public static func readFile(_ path: String, disk: String, kvm: Bool) async throws -> Data? {
        let bytes: [UInt8]? = try await offPool {
            let image = try GuestImage(disks: [.init(path: disk, format: "qcow2", readOnly: true)],
                                       accelerator: kvm ? .automatic : .softwareOnly)
            defer { image.close() }
            try image.mount("/dev/sda", readOnly: true)
            return try image.exists(path) ? try image.readFile(path) : nil
        }
        return bytes.map { Data($0) }
    }
}
