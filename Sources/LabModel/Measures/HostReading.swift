import Foundation
import VMLabSupport

/// The fixed list of host-side readings a lab may record. A lab file is data: it picks one
/// of these by name and never runs a command on the host.
public enum HostReading: String, Sendable, CaseIterable, Equatable {
    /// MiB of the VM's disk file resident in the host page cache (mincore on the file).
    case pageCache = "page-cache"
    /// MiB the VM read from / wrote to a disk (libvirt block stats: counters, so a lab takes
    /// the difference of two readings).
    case readMiB = "read-mib"
    case writeMiB = "write-mib"
    /// Flush requests the guest sent to a disk (a counter, like the two above).
    case flushes
    /// MiB of the guest's own page cache (balloon statistics: disk caches).
    case guestDiskCaches = "guest-disk-caches"
    /// MiB the guest leaves unused (balloon statistics).
    case guestUnused = "guest-unused"
    /// MiB resident on the host for the VM's QEMU process (balloon statistics: rss).
    case rss
    /// The host's page cache and its dirty and writeback pages, in MiB (/proc/meminfo
    /// Cached, Dirty, Writeback).
    case hostCached = "host-cached"
    case hostDirty = "host-dirty"
    case hostWriteback = "host-writeback"

    /// Whether the reading is about one disk of a VM (`disk` required).
    public var needsDisk: Bool { [.pageCache, .readMiB, .writeMiB, .flushes].contains(self) }
    /// Whether the reading is about a VM (`vm` required); host counters are not.
    public var needsVM: Bool { ![.hostCached, .hostDirty, .hostWriteback].contains(self) }

    /// One line for the reference.
    public var summary: String {
        switch self {
        case .pageCache: "MiB of the VM's disk file in the host page cache (mincore)"
        case .readMiB: "MiB read from the disk (block stats: a counter, take differences)"
        case .writeMiB: "MiB written to the disk (block stats: a counter)"
        case .flushes: "flush requests the guest sent to the disk (block stats: a counter)"
        case .guestDiskCaches: "MiB of the guest's page cache (balloon stats)"
        case .guestUnused: "MiB the guest leaves unused (balloon stats)"
        case .rss: "MiB resident on the host for the VM (balloon stats)"
        case .hostCached: "MiB of the host's page cache (/proc/meminfo Cached)"
        case .hostDirty: "MiB of dirty host pages (/proc/meminfo Dirty)"
        case .hostWriteback: "MiB of host pages under writeback (/proc/meminfo Writeback)"
        }
    }

    /// The name the root disk (vda) goes by in `disk` fields.
    public static let rootDisk = "root"
}
