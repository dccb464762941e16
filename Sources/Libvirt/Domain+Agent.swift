internal import CLibvirt
import Foundation

extension Domain {
    /// Sends one QEMU guest agent command (JSON, e.g. `{"execute":"guest-ping"}`) and
    /// returns the agent's JSON reply. `timeoutSeconds`: seconds to wait, or -2 to
    /// block, -1 for libvirt's default, 0 not to wait. A guest whose agent is not up
    /// yet fails with `isAgentUnresponsive`.
    public func qemuAgentCommand(_ json: String, timeoutSeconds: Int32) throws -> String {
        try takeString(check(virDomainQemuAgentCommand(handle, json, timeoutSeconds, 0), "virDomainQemuAgentCommand"))
    }
}
