internal import CLibvirt
import Foundation

/// The state of a domain's long-running job (a backup, a migration), as libvirt reports it.
public enum DomainJobState: Equatable, Sendable {
    /// No job runs (or, for a completed-job query, none finished recently).
    case none
    case running
    case completed
    /// The job failed; libvirt's message when it gave one.
    case failed(String?)
    case cancelled
}

extension Domain {
    // MARK: - Backups (point-in-time disk copies of a running domain)

    /// Starts a push-mode backup described by `<domainbackup>` XML: QEMU copies each listed
    /// disk as it was at this call into its target file, while the guest runs on. The point in
    /// time is fixed when this returns; poll `jobState()` until the copy is done.
    public func beginBackup(xml: String) throws {
        try check(virDomainBackupBegin(handle, xml, nil, 0), "virDomainBackupBegin")
    }

    /// The state of the running job, or of the job that finished last (`completed: true`).
    public func jobState(completed: Bool = false) throws -> DomainJobState {
        var type: Int32 = 0
        var params: virTypedParameterPtr?
        var count: Int32 = 0
        let flags = completed ? (VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED.rawValue) : 0
        try check(virDomainGetJobStats(handle, &type, &params, &count, flags), "virDomainGetJobStats")
        defer { virTypedParamsFree(params, count) }
        switch UInt32(bitPattern: type) {
        case VIR_DOMAIN_JOB_NONE.rawValue: return .none
        case VIR_DOMAIN_JOB_BOUNDED.rawValue, VIR_DOMAIN_JOB_UNBOUNDED.rawValue: return .running
        case VIR_DOMAIN_JOB_COMPLETED.rawValue: return .completed
        case VIR_DOMAIN_JOB_CANCELLED.rawValue: return .cancelled
        default:
            var message: UnsafePointer<CChar>?
            let found = virTypedParamsGetString(params, count, VIR_DOMAIN_JOB_ERRMSG, &message)
            return .failed(found == 1 ? message.map { String(cString: $0) } : nil)
        }
    }

    /// Aborts the running job (a backup that takes too long).
    public func abortJob() throws {
        try check(virDomainAbortJob(handle), "virDomainAbortJob")
    }

    // MARK: - Block statistics

    /// I/O counters of one disk (`vdb`) since the domain started.
    public func blockStats(_ target: String) throws -> BlockStats {
        var count: Int32 = 0
        try check(virDomainBlockStatsFlags(handle, target, nil, &count, 0), "virDomainBlockStatsFlags")
        return try withTypedParameterBuffer(capacity: count) { buffer in
            // Returns 0 and sets the count it filled in.
            var filled = buffer.count
            try check(virDomainBlockStatsFlags(handle, target, buffer.base, &filled, 0), "virDomainBlockStatsFlags")
            buffer.count = filled
            func value(_ name: String) throws -> UInt64 {
                if let v = try buffer.int64(name) { return UInt64(max(0, v)) }
                return try buffer.uint64(name) ?? 0
            }
            return BlockStats(
                readBytes: try value(VIR_DOMAIN_BLOCK_STATS_READ_BYTES), readRequests: try value(VIR_DOMAIN_BLOCK_STATS_READ_REQ),
                writeBytes: try value(VIR_DOMAIN_BLOCK_STATS_WRITE_BYTES), writeRequests: try value(VIR_DOMAIN_BLOCK_STATS_WRITE_REQ),
                flushRequests: try value(VIR_DOMAIN_BLOCK_STATS_FLUSH_REQ))
        }
    }
}

/// A disk's I/O counters as QEMU counts them (what the guest asked of the virtual disk).
public struct BlockStats: Sendable, Equatable {
    public var readBytes: UInt64
    public var readRequests: UInt64
    public var writeBytes: UInt64
    public var writeRequests: UInt64
    /// Flushes (the guest's fsync/barriers reaching the virtual disk).
    public var flushRequests: UInt64

    public init(readBytes: UInt64, readRequests: UInt64, writeBytes: UInt64, writeRequests: UInt64, flushRequests: UInt64) {
        self.readBytes = readBytes
        self.readRequests = readRequests
        self.writeBytes = writeBytes
        self.writeRequests = writeRequests
        self.flushRequests = flushRequests
    }
}
