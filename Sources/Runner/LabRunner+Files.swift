import Foundation
import Guests
import LabStore
import Libvirt
import VMLabSupport

extension LabRunner {
    /// A file of a lab VM: through the agent when the VM runs, else read from its disk with
    /// libguestfs. Nil when the file does not exist; a file that cannot be read (too large,
    /// a device, an agent that stopped answering) is an error naming it.
    public func readGuestFile(of instance: InstanceRecord, vm: String, path: String) async throws -> Data? {
        let domain = try domain(of: instance, vm: vm)
        if try domain.isActive() {
            let agent = try agent(of: instance, vm: vm)
            return try await offPool { try agent.readFileIfPresent(path) }
        }
        let disk = instanceDirectory(instance.id).appendingPathComponent("\(vm).qcow2").path
        // The guest's own domain says whether KVM works here (the probe's verdict):
        // libguestfs's appliance would hang trying KVM where it does not.
        let kvm = (try? domain.xmlDescription(inactive: true))?.contains("<domain type='kvm'") == true
        return try await OfflineDisk.readFile(path, disk: disk, kvm: kvm)
    }
}
