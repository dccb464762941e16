import Foundation
import VMLabSupport

/// Fields of the host's /proc/meminfo, in bytes: the host-side counters a lab may read
/// (page cache, dirty pages waiting for writeback).
public enum HostMemInfo {
    /// The value of `field` (`Cached`, `Dirty`, `Writeback`, ...) in bytes.
    public static func bytes(_ field: String, text: String? = nil) throws -> UInt64 {
        let contents = try text ?? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        for line in contents.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count >= 2, parts[0] == field, let value = UInt64(parts[1]) else { continue }
            return parts.count >= 3 && parts[2] == "kB" ? value * 1024 : value
        }
        throw VMLabError(.notFound, "/proc/meminfo has no field \(field)")
    }
}
