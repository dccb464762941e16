import Foundation

/// The libvirt domain definition of a vmlab guest: direct kernel boot of the image's
/// kernel and initrd, a qcow2 overlay as root disk, the agent channel, a balloon and a
/// serial console. Pure text, so it is unit-tested without libvirt.
public struct DomainDefinition: Sendable, Equatable {
    public struct Disk: Sendable, Equatable {
        public var path: String
        /// vda, vdb, ...
        public var target: String
        public init(path: String, target: String) {
            self.path = path
            self.target = target
        }
    }

    public struct Interface: Sendable, Equatable {
        /// The libvirt network (an isolated bridge) this NIC joins.
        public var network: String
        public var mac: String
        public init(network: String, mac: String) {
            self.network = network
            self.mac = mac
        }
    }

    public var name: String
    public var accelerator: Accelerator
    public var memoryMiB: Int
    public var vcpus: Int
    public var kernel: String
    public var initrd: String
    public var kernelArguments: String
    public var disks: [Disk]
    public var interfaces: [Interface] = []
    /// Host CPUs the vCPUs and emulator threads are pinned to (nil: anywhere).
    public var cpuset: String?
    /// Free-form owner tag kept in the domain's metadata, so `virsh dumpxml` tells a person
    /// who made this domain.
    public var owner: String
    /// The user and group QEMU runs as: the owner of the vmlab home, so QEMU can read the
    /// image and overlays there without relabelling anything.
    public var uid: UInt32 = getuid()
    public var gid: UInt32 = getgid()

    public init(name: String, accelerator: Accelerator, memoryMiB: Int, vcpus: Int, kernel: String, initrd: String,
                kernelArguments: String, disks: [Disk], interfaces: [Interface] = [], owner: String) {
        self.name = name
        self.accelerator = accelerator
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.kernel = kernel
        self.initrd = initrd
        self.kernelArguments = kernelArguments
        self.disks = disks
        self.interfaces = interfaces
        self.owner = owner
    }

    public var xml: String {
        let disks = self.disks.map { d in
            """
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2' discard='unmap'/>
                  <source file='\(escapeMarkup(d.path))'/>
                  <target dev='\(escapeMarkup(d.target))' bus='virtio'/>
                </disk>
            """
        }.joined(separator: "\n")
        let nics = interfaces.map { nic in
            """
                <interface type='network'>
                  <source network='\(escapeMarkup(nic.network))'/>
                  <mac address='\(escapeMarkup(nic.mac))'/>
                  <model type='virtio'/>
                </interface>
            """
        }.joined(separator: "\n")
        var cpu = accelerator == .kvm ? "\n  <cpu mode='host-model'/>" : ""
        if let cpuset {
            let pins = (0..<vcpus).map { "<vcpupin vcpu='\($0)' cpuset='\(escapeMarkup(cpuset))'/>" }.joined()
            cpu += "\n  <cputune>\(pins)<emulatorpin cpuset='\(escapeMarkup(cpuset))'/></cputune>"
        }
        return """
        <domain type='\(accelerator.domainType)'>
          <name>\(escapeMarkup(name))</name>
          <metadata>
            <vmlab:guest xmlns:vmlab='urn:vmlab:guest:1' owner='\(escapeMarkup(owner))'/>
          </metadata>
          <memory unit='MiB'>\(memoryMiB)</memory>
          <currentMemory unit='MiB'>\(memoryMiB)</currentMemory>
          <vcpu placement='static'>\(vcpus)</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>\(escapeMarkup(kernel))</kernel>
            <initrd>\(escapeMarkup(initrd))</initrd>
            <cmdline>\(escapeMarkup(kernelArguments))</cmdline>
          </os>\(cpu)
          <features><acpi/></features>
          <clock offset='utc'/>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>restart</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
        \(disks)
        \(nics)
            <serial type='pty'><target port='0'/></serial>
            <console type='pty'><target type='serial' port='0'/></console>
            <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
            <memballoon model='virtio'><stats period='2'/></memballoon>
            <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
          </devices>
          <seclabel type='static' model='dac' relabel='no'><label>+\(uid):+\(gid)</label></seclabel>
        </domain>
        """
    }
}
