import Dispatch
import Foundation
import Synchronization

/// Ctrl-C, SIGTERM and SIGHUP end a command cleanly: the first one cancels the command's
/// task, so a start in progress rolls back and a run is recorded as interrupted; a second
/// one exits at once (what is left then is what `vmlab gc` removes). SIGPIPE is ignored:
/// a closed stdout (`vmlab results | head`) ends output quietly instead of killing vmlab.
final class SignalWatch {
    private let sources: [any DispatchSourceSignal]
    private let received = Received()

    /// The first signal, shared with the handlers.
    private final class Received: Sendable {
        let value = Mutex<Int32?>(nil)
    }

    /// The signal that interrupted the command, if one did.
    var signal: Int32? { received.value.withLock { $0 } }

    init(cancelling task: Task<Void, any Error>, signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
        Glibc.signal(SIGPIPE, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        let received = self.received
        for number in signals {
            Glibc.signal(number, SIG_IGN)   // the dispatch source sees it instead of the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let first = received.value.withLock { value -> Bool in
                    defer { if value == nil { value = number } }
                    return value == nil
                }
                if first {
                    Output.progress("interrupted (\(Self.name(number))): cleaning up; press Ctrl-C again to exit at once")
                    task.cancel()
                } else {
                    _exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    deinit { sources.forEach { $0.cancel() } }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(number)"
        }
    }
}
