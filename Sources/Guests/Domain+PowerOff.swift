import Foundation
import LabModel
import LabStore
import Libvirt
import VMLabSupport

extension Domain {
    /// Asks the guest to power off (ACPI or its agent, as libvirt chooses) and polls until
    /// it has. Returns false when `timeout` passed first; the caller decides whether that
    /// is an error (a lab step) or a reason to pull the plug (`vmlab vm stop`).
    package func shutDownAndWait(timeout: Duration) async throws -> Bool {
        try await offPool { try self.shutdown() }
        let deadline = ContinuousClock.now + timeout
        while try isActive() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(100))
        }
        return true
    }
}

extension Domain {
    /// Pulls the plug if the domain runs or is paused, whatever state it is in: a domain
    /// that stops on its own between the check and the call ("domain is not running") is
    /// what teardown wanted anyway.
    package func destroyIfActive() throws {
        guard try isActive() else { return }
        do {
            try destroy()
        } catch {
            if try isActive() { throw error }
        }
    }
}
