internal import CLibvirt
import Foundation

/// libvirt's default event loop, run on a thread of its own once per process. Keepalive
/// needs it: without a running loop, libvirt sends no pings, and a call to a hung libvirtd
/// waits for ever. It must be registered before the first connection opens.
enum EventLoop {
    static let running: Void = {
        guard virEventRegisterDefaultImpl() == 0 else { return }
        let thread = Thread {
            while virEventRunDefaultImpl() == 0 {}
        }
        thread.name = "libvirt-events"
        thread.start()
    }()
}
