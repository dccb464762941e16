import Foundation
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// Opening the libvirt connection, with an error that says how to get libvirtd running.
public enum LibvirtHost {
    /// `--connect` if given, else `$LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
    public static func uri(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let env = environment["LIBVIRT_DEFAULT_URI"], !env.isEmpty { return env }
        return "qemu:///system"
    }

    public static func connect(_ uri: String) throws -> Connection {
        do {
            return try Connection(uri: uri)
        } catch {
            throw VMLabError(.unavailable, "cannot reach libvirt at \(uri); start libvirtd with `scripts/setup.sh` "
                + "(as root; it runs libvirtd inside the vmlab network namespace) or pass --connect URI", cause: error)
        }
    }
}

/// The agent transport that goes through libvirt's virDomainQemuAgentCommand.
package struct LibvirtAgentTransport: AgentTransport {
    package let domain: Domain
    package init(domain: Domain) { self.domain = domain }
    package func agentCommand(_ json: String, timeoutSeconds: Int32) throws -> String {
        do {
            return try domain.qemuAgentCommand(json, timeoutSeconds: timeoutSeconds)
        } catch let error as LibvirtError where error.isAgentUnresponsive {
            throw VMLabError(.unavailable, "the agent in the guest is not answering: it was stopped (root in the guest "
                + "can), or the guest is overloaded; `vmlab lab reset` (or restarting the VM) brings it back", cause: error)
        }
    }

    package func notRunningReason() throws -> String? {
        let state = try domain.info().state
        switch state {
        case .running, .blocked, .paused, .noState: return nil
        default: return state.label
        }
    }
}
