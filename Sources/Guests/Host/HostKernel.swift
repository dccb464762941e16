import Foundation
import LabModel
import LabStore
import VMLabSupport

/// The Debian kernel in /boot that guests boot (and libguestfs uses): the newest
/// `vmlinuz-*` unless `$VMLAB_KERNEL` names one.
public struct HostKernel: Sendable {
    public let image: URL
    public let release: String

    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HostKernel {
        if let explicit = environment["VMLAB_KERNEL"], !explicit.isEmpty {
            let url = URL(fileURLWithPath: explicit).resolvingSymlinksInPath()
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw VMLabError(.notFound, "VMLAB_KERNEL=\(explicit) is not a readable file")
            }
            return HostKernel(image: url, release: url.lastPathComponent.replacingOccurrences(of: "vmlinuz-", with: ""))
        }
        let boot = URL(fileURLWithPath: "/boot")
        let kernels = ((try? FileManager.default.contentsOfDirectory(atPath: boot.path)) ?? [])
            .filter { $0.hasPrefix("vmlinuz-") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let newest = kernels.last else {
            throw VMLabError(.unavailable, "no guest kernel in /boot; install one with `apt-get install linux-image-amd64` (scripts/setup.sh does)")
        }
        let url = boot.appendingPathComponent(newest)
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw VMLabError(.unavailable, "\(url.path) is not readable; vmlab needs read access to the guest kernel")
        }
        return HostKernel(image: url, release: String(newest.dropFirst("vmlinuz-".count)))
    }
}
