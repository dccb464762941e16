internal import CLibvirt
import Foundation

extension Domain {
    /// Attaches to the guest's serial console (or the console `device`, e.g. `serial0`)
    /// as a blocking byte stream. `force` takes the console over from another client
    /// instead of failing.
    public func openConsole(device: String? = nil, force: Bool = true) throws -> ConsoleStream {
        let connection = try check(virDomainGetConnect(handle), "virDomainGetConnect")
        let stream = try check(virStreamNew(connection, 0), "virStreamNew")
        let flags = force ? VIR_DOMAIN_CONSOLE_FORCE.rawValue : 0
        do {
            _ = try withOptionalCString(device) {
                try check(virDomainOpenConsole(handle, $0, stream, flags), "virDomainOpenConsole")
            }
        } catch {
            virStreamFree(stream)  // after the error was copied
            throw error
        }
        return ConsoleStream(taking: stream)
    }
}
