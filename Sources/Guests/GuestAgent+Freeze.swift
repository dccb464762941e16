import Foundation
import LabModel
import VMLabSupport

extension GuestAgent {
    /// Where the image's fsfreeze hook wrapper (Images/base/fsfreeze-hook) reads how long
    /// each hook may run before it is killed; on tmpfs, which a freeze does not touch.
    public static let hookTimeoutFile = "/run/vmlab/fsfreeze-hook-timeout"

    /// Freezes every filesystem of the guest, after its fsfreeze hooks ran with "freeze".
    /// Each hook is cut off after `hookTimeout` by the guest's hook wrapper (which then fails
    /// the freeze); the agent call itself gives up `hookTimeout` + 20 s later. Returns how
    /// many filesystems were frozen. The caller must thaw: see `thawFilesystems`.
    public func freezeFilesystems(hookTimeout: Duration) async throws -> Int {
        let seconds = max(1, Int(hookTimeout.seconds.rounded(.up)))
        try await install(Data("\(seconds)\n".utf8), at: Self.hookTimeoutFile)
        let frozen = try await callOffPool(GuestFsfreezeFreeze(), timeoutSeconds: Int32(min(seconds + 20, 3600)))
        guard (0...1000).contains(frozen) else {
            throw VMLabError(.failed, "the guest agent of '\(guest)' reported \(frozen) frozen filesystems; the agent is broken or was replaced")
        }
        return Int(frozen)
    }

    /// Thaws the guest's filesystems (then its hooks run with "thaw"); returns how many were thawed.
    @discardableResult
    public func thawFilesystems(timeoutSeconds: Int32 = 30) async throws -> Int {
        Int(clamping: try await callOffPool(GuestFsfreezeThaw(), timeoutSeconds: timeoutSeconds))
    }

    /// Whether the guest's filesystems are frozen now.
    public func filesystemsFrozen(timeoutSeconds: Int32 = 10) async throws -> Bool {
        let status = try await callOffPool(GuestFsfreezeStatus(), timeoutSeconds: timeoutSeconds)
        switch status {
        case "frozen": return true
        case "thawed": return false
        default:
            throw VMLabError(.failed, "the guest agent of '\(guest)' reported freeze status \(Self.excerpt(status)); expected frozen or thawed")
        }
    }

    /// Thaws until the agent says "thawed", retrying for `within` (an agent still busy with a
    /// hook answers late). True when the guest is proven thawed.
    public func ensureThawed(within: Duration = .seconds(60)) async -> Bool {
        let deadline = ContinuousClock.now + within
        while true {
            if let frozen = try? await filesystemsFrozen(), !frozen { return true }
            _ = try? await thawFilesystems(timeoutSeconds: 10)
            if let frozen = try? await filesystemsFrozen(), !frozen { return true }
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
