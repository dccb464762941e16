import Foundation
import VMLabSupport

/// Kernel trouble found in a guest's console output: oopses, BUGs, panics, soft lockups,
/// hung tasks and KASAN reports. Each event starts at a header line; the lines after it (its
/// registers and call trace) up to `---[ end trace` belong to it, so an oops's `BUG:` and
/// `Oops:` lines count once. Pure text work: the console is the guest's, so it is read as
/// bytes, bounded, and shown only through `displayText`.
public struct KernelEvents: Sendable, Equatable {
    /// How many events the output holds.
    public var count: Int
    /// The first event's header line (without the printk timestamp), or nil.
    public var firstLine: String?
    /// The first event's lines, trimmed to `maxTraceLines` and `maxTraceCharacters`.
    public var trace: String?

    public static let maxTraceLines = 40
    public static let maxTraceCharacters = 3000
    /// Lines after a header that still belong to its event when no end marker comes.
    static let maxEventLines = 80

    /// Substrings that start an event, with the kind a person reads.
    static let headers: [(marker: String, kind: String)] = [
        ("Kernel panic - not syncing", "panic"),
        ("BUG: soft lockup", "soft lockup"),
        ("BUG: KASAN:", "KASAN"),
        ("BUG:", "BUG"),
        ("Oops:", "oops"),
        ("general protection fault", "oops"),
        ("blocked for more than", "hung task"),
        ("watchdog: BUG: soft lockup", "soft lockup"),
        // SLUB at kmem_cache_destroy of a cache with live objects: a module's leak.
        ("Objects remaining in", "slab leak"),
    ]

    public init(count: Int, firstLine: String?, trace: String?) {
        self.count = count
        self.firstLine = firstLine
        self.trace = trace
    }

    /// Finds the events of `output` (a console log: any bytes).
    public static func find(in output: Data) -> KernelEvents {
        var count = 0
        var first: [String] = []
        var inEvent = 0  // lines left of the current event; 0: outside one
        var collecting = false
        // Split on LF bytes: a serial console ends lines with CR LF, which Swift sees as
        // one Character, so splitting the decoded text on "\n" would find no line at all.
        for raw in output.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let line = stripTimestamp(String(decoding: raw.filter { $0 != 0x0D }, as: UTF8.self))
            let header = isHeader(line)
            // A panic always starts its own event: it ends the guest whatever came before.
            if header && (inEvent == 0 || line.contains("Kernel panic - not syncing")) {
                count += 1
                inEvent = maxEventLines
                collecting = count == 1
            } else if inEvent > 0 {
                inEvent -= 1
            }
            if collecting, inEvent > 0, !isRegisterDump(line) {
                if first.count < maxTraceLines { first.append(line) }
            }
            if line.contains("---[ end trace") || line.contains("---[ end Kernel panic") {
                inEvent = 0
                collecting = false
            }
            if inEvent == 0 { collecting = false }
        }
        guard count > 0, let header = first.first else { return KernelEvents(count: 0, firstLine: nil, trace: nil) }
        // Each line made safe on its own, so the trace keeps its line breaks.
        var trace = first.map { displayText($0, limit: 200) }.joined(separator: "\n")
        if trace.count > maxTraceCharacters { trace = String(trace.prefix(maxTraceCharacters - 1)) + "…" }
        return KernelEvents(count: count, firstLine: displayText(header, limit: 200), trace: trace)
    }

    /// Register and code dumps (`RAX: ...`, `Code: 48 8b ...`): a student reads the header,
    /// `RIP:` (where it happened) and the call trace, so these are left out of the trace.
    static func isRegisterDump(_ line: String) -> Bool {
        let first = line.prefix { $0 != " " }
        return ["Code:", "RSP:", "RAX:", "RDX:", "RBP:", "R10:", "R13:", "FS:", "CS:", "DR0:", "DR3:", "PKRU:"]
            .contains(String(first))
    }

    static func isHeader(_ line: String) -> Bool {
        headers.contains { line.contains($0.marker) }
    }

    /// `[   12.345678] text` -> `text`.
    static func stripTimestamp(_ line: String) -> String {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
              line[line.index(after: line.startIndex)..<close].allSatisfy({ $0 == " " || $0 == "." || $0.isNumber })
        else { return line }
        return String(line[line.index(after: close)...].drop { $0 == " " })
    }
}
