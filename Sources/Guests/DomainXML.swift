import Foundation
import LabModel
import LabStore
import VMLabSupport

/// The libvirt domain definition of a vmlab guest: direct kernel boot of the image's
/// kernel and initrd, a qcow2 overlay as root disk, the agent channel, a balloon and a
/// serial console. A pure value rendered by the XML writer, so it is unit-tested without libvirt.
public struct DomainDefinition: Sendable, Equatable {
    public struct Disk: Sendable, Equatable {
        public var path: String
        /// vda, vdb, ...
        public var target: String
        /// The host cache mode (`none`, `writeback`, ...), or nil for QEMU's default.
        public var cache: String?
        public init(path: String, target: String, cache: String? = nil) {
            self.path = path
            self.target = target
            self.cache = cache
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
    /// File the serial console is logged to (by virtlogd, which caps and rotates it), or nil.
    public var consoleLog: String?
    /// Host CPUs the vCPUs and emulator threads are pinned to (nil: anywhere).
    public var cpuset: String?
    /// Who made the domain, kept in its metadata (see `OwnerTag`).
    public var owner: OwnerTag
    /// The user and group QEMU runs as: the owner of the vmlab home, so QEMU can read the
    /// image and overlays there without relabelling anything.
    public var uid: UInt32 = getuid()
    public var gid: UInt32 = getgid()

    public init(name: String, accelerator: Accelerator, memoryMiB: Int, vcpus: Int, kernel: String, initrd: String,
                kernelArguments: String, disks: [Disk], interfaces: [Interface] = [], owner: OwnerTag) {
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

    public var xml: String { tree.render() }

    /// The definition as an element tree; `xml` renders it.
    var tree: XMLTree {
        var devices = disks.map { disk in
            XMLTree("disk", ["type": "file", "device": "disk"], children: [
                disk.cache.map { XMLTree("driver", ["name": "qemu", "type": "qcow2", "cache": $0, "discard": "unmap"]) }
                    ?? XMLTree("driver", ["name": "qemu", "type": "qcow2", "discard": "unmap"]),
                XMLTree("source", ["file": disk.path]),
                XMLTree("target", ["dev": disk.target, "bus": "virtio"]),
            ])
        }
        devices += interfaces.map { nic in
            XMLTree("interface", ["type": "network"], children: [
                XMLTree("source", ["network": nic.network]),
                XMLTree("mac", ["address": nic.mac]),
                XMLTree("model", ["type": "virtio"]),
            ])
        }
        devices += [
            XMLTree("serial", ["type": "pty"], children: (consoleLog.map { [XMLTree("log", ["file": $0, "append": "on"])] } ?? [])
                    + [XMLTree("target", ["port": "0"])], compact: true),
            XMLTree("console", ["type": "pty"], children: [XMLTree("target", ["type": "serial", "port": "0"])],
                    compact: true),
            XMLTree("channel", ["type": "unix"], children: [
                XMLTree("target", ["type": "virtio", "name": "org.qemu.guest_agent.0"]),
            ], compact: true),
            XMLTree("memballoon", ["model": "virtio"], children: [XMLTree("stats", ["period": "2"])], compact: true),
            XMLTree("rng", ["model": "virtio"], children: [
                XMLTree("backend", ["model": "random"], text: "/dev/urandom"),
            ], compact: true),
            // pvpanic: a guest kernel panic reaches libvirt at once, and on_crash ends the VM
            // (shut off, reason "crashed") instead of leaving it spinning until a timeout.
            XMLTree("panic", ["model": "isa"], children: [XMLTree("address", ["type": "isa", "iobase": "0x505"])],
                    compact: true),
        ]
        var cpu: [XMLTree] = accelerator == .kvm ? [XMLTree("cpu", ["mode": "host-model"])] : []
        if let cpuset {
            let pins = (0..<vcpus).map { XMLTree("vcpupin", ["vcpu": String($0), "cpuset": cpuset]) }
            cpu.append(XMLTree("cputune", children: pins + [XMLTree("emulatorpin", ["cpuset": cpuset])], compact: true))
        }
        return XMLTree("domain", ["type": accelerator.domainType], children: [
            XMLTree("name", text: name),
            XMLTree("metadata", children: [owner.element]),
            XMLTree("memory", ["unit": "MiB"], text: String(memoryMiB)),
            XMLTree("currentMemory", ["unit": "MiB"], text: String(memoryMiB)),
            XMLTree("vcpu", ["placement": "static"], text: String(vcpus)),
            XMLTree("os", children: [
                XMLTree("type", ["arch": "x86_64", "machine": "pc"], text: "hvm"),
                XMLTree("kernel", text: kernel),
                XMLTree("initrd", text: initrd),
                XMLTree("cmdline", text: kernelArguments),
            ]),
        ] + cpu + [
            XMLTree("features", children: [XMLTree("acpi")], compact: true),
            XMLTree("clock", ["offset": "utc"]),
            XMLTree("on_poweroff", text: "destroy"),
            XMLTree("on_reboot", text: "restart"),
            XMLTree("on_crash", text: "destroy"),
            XMLTree("devices", children: devices),
            XMLTree("seclabel", ["type": "static", "model": "dac", "relabel": "no"], children: [
                XMLTree("label", text: "+\(uid):+\(gid)"),
            ], compact: true),
        ])
    }
}
