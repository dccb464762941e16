internal import CLibvirt
import Foundation

/// CPU scheduler settings of a domain (cgroup CPU controller): relative weight and
/// bandwidth caps. nil means "not reported" when read, and "leave unchanged" when set.
public struct SchedulerParameters: Equatable, Sendable {
    /// Relative CPU weight against other domains (`cpu_shares`).
    public var cpuShares: UInt64?
    /// Enforcement period for each vCPU, in microseconds (`vcpu_period`).
    public var vcpuPeriod: UInt64?
    /// Maximum run time per `vcpuPeriod` for each vCPU, in microseconds; -1 = no cap (`vcpu_quota`).
    public var vcpuQuota: Int64?
    /// Enforcement period for the whole domain, in microseconds (`global_period`).
    public var globalPeriod: UInt64?
    /// Maximum run time per `globalPeriod` for the whole domain, in microseconds (`global_quota`).
    public var globalQuota: Int64?
    /// Enforcement period for the emulator threads, in microseconds (`emulator_period`).
    public var emulatorPeriod: UInt64?
    /// Maximum run time per `emulatorPeriod` for the emulator threads, in microseconds (`emulator_quota`).
    public var emulatorQuota: Int64?

    /// Makes a set of parameters; omitted fields are nil (unchanged).
    public init(cpuShares: UInt64? = nil, vcpuPeriod: UInt64? = nil, vcpuQuota: Int64? = nil,
                globalPeriod: UInt64? = nil, globalQuota: Int64? = nil,
                emulatorPeriod: UInt64? = nil, emulatorQuota: Int64? = nil) {
        self.cpuShares = cpuShares
        self.vcpuPeriod = vcpuPeriod
        self.vcpuQuota = vcpuQuota
        self.globalPeriod = globalPeriod
        self.globalQuota = globalQuota
        self.emulatorPeriod = emulatorPeriod
        self.emulatorQuota = emulatorQuota
    }
}

/// A memory statistic reported by the guest's balloon driver (`virDomainMemoryStatTags`).
public enum MemoryStat: Hashable, Sendable {
    /// KiB swapped in since boot.
    case swapIn
    /// KiB swapped out since boot.
    case swapOut
    /// Major page faults since boot.
    case majorFault
    /// Minor page faults since boot.
    case minorFault
    /// KiB the guest leaves completely unused.
    case unused
    /// KiB of memory the guest sees in total.
    case available
    /// Current balloon size, in KiB.
    case actualBalloon
    /// Resident set size of the guest's process on the host, in KiB.
    case rss
    /// KiB the guest could use without swapping (free + reclaimable caches).
    case usable
    /// When the guest last updated these statistics, in seconds since the epoch.
    case lastUpdate
    /// KiB of guest disk caches that can be reclaimed.
    case diskCaches
    /// A tag these bindings do not name (e.g. hugetlb counters), by number.
    case other(Int32)

    /// Maps libvirt's tag number.
    init(tag: Int32) {
        switch UInt32(bitPattern: tag) {
        case VIR_DOMAIN_MEMORY_STAT_SWAP_IN.rawValue: self = .swapIn
        case VIR_DOMAIN_MEMORY_STAT_SWAP_OUT.rawValue: self = .swapOut
        case VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT.rawValue: self = .majorFault
        case VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT.rawValue: self = .minorFault
        case VIR_DOMAIN_MEMORY_STAT_UNUSED.rawValue: self = .unused
        case VIR_DOMAIN_MEMORY_STAT_AVAILABLE.rawValue: self = .available
        case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON.rawValue: self = .actualBalloon
        case VIR_DOMAIN_MEMORY_STAT_RSS.rawValue: self = .rss
        case VIR_DOMAIN_MEMORY_STAT_USABLE.rawValue: self = .usable
        case VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE.rawValue: self = .lastUpdate
        case VIR_DOMAIN_MEMORY_STAT_DISK_CACHES.rawValue: self = .diskCaches
        default: self = .other(tag)
        }
    }
}

extension Domain {
    // MARK: - CPU

    /// The domain's CPU scheduler settings (live ones if it runs, else its config).
    /// Fields the driver does not report are nil.
    public func schedulerParameters() throws -> SchedulerParameters {
        var count: Int32 = 0
        let type = try check(virDomainGetSchedulerType(handle, &count), "virDomainGetSchedulerType")
        free(type)
        return try withTypedParameterBuffer(capacity: count) { buffer in
            var filled = count
            do {
                try check(virDomainGetSchedulerParametersFlags(
                    handle, buffer.base, &filled, VIR_DOMAIN_AFFECT_CURRENT.rawValue),
                    "virDomainGetSchedulerParametersFlags")
            } catch let error as LibvirtError where error.code == LibvirtError.code(VIR_ERR_INVALID_ARG) {
                // Some drivers (the test driver) reject the string-parameter flag libvirt adds
                // to the Flags call; the legacy call means the same as AFFECT_CURRENT.
                filled = count
                try check(virDomainGetSchedulerParameters(handle, buffer.base, &filled),
                          "virDomainGetSchedulerParameters")
            }
            buffer.count = filled
            return SchedulerParameters(
                cpuShares: try buffer.uint64(VIR_DOMAIN_SCHEDULER_CPU_SHARES),
                vcpuPeriod: try buffer.uint64(VIR_DOMAIN_SCHEDULER_VCPU_PERIOD),
                vcpuQuota: try buffer.int64(VIR_DOMAIN_SCHEDULER_VCPU_QUOTA),
                globalPeriod: try buffer.uint64(VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD),
                globalQuota: try buffer.int64(VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA),
                emulatorPeriod: try buffer.uint64(VIR_DOMAIN_SCHEDULER_EMULATOR_PERIOD),
                emulatorQuota: try buffer.int64(VIR_DOMAIN_SCHEDULER_EMULATOR_QUOTA))
        }
    }

    /// Changes the non-nil fields of `p` on the running domain (`live`) and/or its
    /// persistent config (`config`); neither means "current". All nil does nothing.
    public func setSchedulerParameters(_ p: SchedulerParameters, live: Bool = true, config: Bool = false) throws {
        let list = TypedParameterList()
        if let v = p.cpuShares { try list.add(VIR_DOMAIN_SCHEDULER_CPU_SHARES, v) }
        if let v = p.vcpuPeriod { try list.add(VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, v) }
        if let v = p.vcpuQuota { try list.add(VIR_DOMAIN_SCHEDULER_VCPU_QUOTA, v) }
        if let v = p.globalPeriod { try list.add(VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD, v) }
        if let v = p.globalQuota { try list.add(VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA, v) }
        if let v = p.emulatorPeriod { try list.add(VIR_DOMAIN_SCHEDULER_EMULATOR_PERIOD, v) }
        if let v = p.emulatorQuota { try list.add(VIR_DOMAIN_SCHEDULER_EMULATOR_QUOTA, v) }
        guard !list.isEmpty else { return }
        try check(virDomainSetSchedulerParametersFlags(
            handle, list.params, list.count, affectFlags(live: live, config: config)),
            "virDomainSetSchedulerParametersFlags")
    }

    /// CPU time the whole domain (vCPUs and emulator threads) has used, in nanoseconds:
    /// the host-side measure of how much CPU a guest got.
    public func totalCPUTimeNanoseconds() throws -> UInt64 {
        try cpuStats().cpuTime
    }

    /// CPU time spent running the guest's vCPUs only, in nanoseconds; falls back to the
    /// total when the driver does not report `vcpu_time`.
    public func vcpuTimeNanoseconds() throws -> UInt64 {
        let stats = try cpuStats()
        return stats.vcpuTime ?? stats.cpuTime
    }

    /// `cpu_time` and `vcpu_time` of the domain-wide totals (`virDomainGetCPUStats`, start_cpu -1).
    private func cpuStats() throws -> (cpuTime: UInt64, vcpuTime: UInt64?) {
        let count = try check(virDomainGetCPUStats(handle, nil, 0, -1, 1, 0), "virDomainGetCPUStats")
        return try withTypedParameterBuffer(capacity: count) { buffer in
            buffer.count = try check(
                virDomainGetCPUStats(handle, buffer.base, UInt32(count), -1, 1, 0), "virDomainGetCPUStats")
            guard let cpuTime = try buffer.uint64(VIR_DOMAIN_CPU_STATS_CPUTIME) else {
                throw LibvirtError.local(VIR_ERR_NO_SUPPORT, "domain '\(name)': the driver reports no cpu_time")
            }
            return (cpuTime, try buffer.uint64(VIR_DOMAIN_CPU_STATS_VCPUTIME))
        }
    }

    // MARK: - Memory

    /// Sets the memory the guest may use, in KiB (the balloon target), on the running
    /// domain (`live`) and/or its config (`config`); neither means "current".
    public func setMemory(kibibytes: UInt64, live: Bool = true, config: Bool = false) throws {
        try check(virDomainSetMemoryFlags(handle, try ulong(kibibytes), affectFlags(live: live, config: config)),
                  "virDomainSetMemoryFlags")
    }

    /// Sets the maximum memory of the domain, in KiB (the ceiling for `setMemory`).
    /// Most drivers only allow this while the domain is shut off.
    public func setMaxMemory(kibibytes: UInt64) throws {
        try check(virDomainSetMaxMemory(handle, try ulong(kibibytes)), "virDomainSetMaxMemory")
    }

    /// The guest's memory statistics from its balloon driver, keyed by statistic.
    /// Guest-side values need a memory-stats period (`setMemoryStatsPeriod`).
    public func memoryStats() throws -> [MemoryStat: UInt64] {
        let capacity = 64  // more than the tags libvirt defines
        var stats = [virDomainMemoryStatStruct](repeating: virDomainMemoryStatStruct(), count: capacity)
        let count = try check(virDomainMemoryStats(handle, &stats, UInt32(capacity), 0), "virDomainMemoryStats")
        var result: [MemoryStat: UInt64] = [:]
        for stat in stats.prefix(Int(count)) { result[MemoryStat(tag: stat.tag)] = stat.val }
        return result
    }

    /// How often, in seconds, the guest's balloon driver refreshes its statistics;
    /// 0 turns collection off. Applies to the running domain and/or its config.
    public func setMemoryStatsPeriod(seconds: Int32, live: Bool = true, config: Bool = false) throws {
        try check(virDomainSetMemoryStatsPeriod(handle, seconds, affectFlags(live: live, config: config)),
                  "virDomainSetMemoryStatsPeriod")
    }

    /// Converts KiB to C `unsigned long`, refusing values that do not fit.
    private func ulong(_ kibibytes: UInt64) throws -> UInt {
        guard let value = UInt(exactly: kibibytes) else {
            throw LibvirtError.local(VIR_ERR_INVALID_ARG, "domain '\(name)': \(kibibytes) KiB is too large")
        }
        return value
    }
}
