import Foundation

/// A process as the owner of a lab or a guest: its pid, when it started (clock ticks since
/// boot) and the boot it runs in. A pid alone is reused, and another machine or pid
/// namespace sharing VMLAB_HOME has its own pids; the three together name one process.
public struct ProcessIdentity: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var startTicks: UInt64
    public var bootID: String

    public init(pid: Int32, startTicks: UInt64, bootID: String) {
        self.pid = pid
        self.startTicks = startTicks
        self.bootID = bootID
    }

    /// This process.
    public static var current: ProcessIdentity {
        let pid = getpid()
        return ProcessIdentity(pid: pid, startTicks: startTicks(of: pid) ?? 0, bootID: bootID)
    }

    /// `pid:startTicks:bootID`, as the store keeps it.
    public var description: String { "\(pid):\(startTicks):\(bootID)" }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, let pid = Int32(parts[0]), let ticks = UInt64(parts[1]) else { return nil }
        self.init(pid: pid, startTicks: ticks, bootID: parts[2])
    }

    /// Whether this very process still runs: same boot, and the pid's start time matches.
    /// A process of another boot (or machine) is taken as gone only when this machine's
    /// boot differs, which is what a shared VMLAB_HOME after a reboot means.
    public var isAlive: Bool {
        guard bootID == Self.bootID else { return false }
        guard let ticks = Self.startTicks(of: pid) else { return false }
        return ticks == startTicks
    }

    /// The kernel's id of this boot (a fresh UUID every boot).
    public static let bootID: String = {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "unknown"
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    static func startTicks(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" come fields 3...; the command may itself contain spaces and ')'.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
