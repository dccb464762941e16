import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

extension LabRunner {
    /// The kernel-event traces the runs of an instance kept (`kernel-events-VM.txt`), by run.
    /// Files only: it works with libvirt down and the lab stopped.
    public static func kernelEventTraces(home: VMLabHome, store: Store, of instance: InstanceRecord,
                                         lab: LabSpec) throws -> [(run: Int64, vm: String, trace: String)] {
        try store.runs(instance: instance.id).compactMap(\.id).flatMap { run in
            lab.vms.compactMap { vm -> (run: Int64, vm: String, trace: String)? in
                let file = home.root.appendingPathComponent("artifacts/\(instance.id)/run-\(run)")
                    .appendingPathComponent(KernelEventsMeasure.artifactName(vm: vm.name))
                guard let trace = try? BoundedFile.text(file, maxBytes: 16 << 10) else { return nil }
                return (run, vm.name, trace)
            }
        }
    }

    /// A file of a lab VM: through the agent when the VM runs, else read from its disk with
    /// libguestfs. Nil when the file does not exist; a file that cannot be read (too large,
    /// a device, an agent that stopped answering) is an error naming it.
    public func readGuestFile(of instance: InstanceRecord, vm: String, path: String) async throws -> Data? {
        let domain = try domain(of: instance, vm: vm)
        if try domain.isActive() {
            let agent = try agent(of: instance, vm: vm)
            return try await offPool { try agent.readFileIfPresent(path) }
        }
        // libguestfs opens the overlay as a file of this machine; a pool host's is a volume there.
        try requireSharedStorage("reading \(path) from the disk of stopped VM \(vm) (the agent needs it running)")
        let disk = instanceDirectory(instance.id).appendingPathComponent("\(vm).qcow2").path
        // The guest's own domain says whether KVM works here (the probe's verdict):
        // libguestfs's appliance would hang trying KVM where it does not.
        let kvm = (try? domain.xmlDescription(inactive: true))?.contains("<domain type='kvm'") == true
        return try await OfflineDisk.readFile(path, disk: disk, kvm: kvm)
    }
}
