import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab console NAME`: the guest's serial console, interactive. Ctrl-] leaves.
struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach to a guest's serial console (Ctrl-] to leave).",
        discussion: "The guest has no login on its console; use it to read boot messages and kernel logs.")

    @Argument(help: "Guest name, or lab name and VM name.")
    var target: [String]

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let stream = try global.console(for: target)
        Output.progress("connected to \(target.joined(separator: "/"))'s console; Ctrl-] to leave")
        let terminal = RawTerminal()
        defer { terminal.restore() }

        // stdin -> guest on its own thread; guest -> stdout here. Both block in C calls.
        let input = Thread {
            var byte: UInt8 = 0
            while read(STDIN_FILENO, &byte, 1) == 1 {
                if byte == 0x1d { break }   // Ctrl-]
                _ = try? stream.send([byte])
            }
            stream.close()
        }
        input.start()
        while true {
            guard let bytes = try? stream.receive(), !bytes.isEmpty else { break }
            FileHandle.standardOutput.write(Data(bytes))
        }
        FileHandle.standardError.write(Data("\r\n".utf8))
    }
}

/// Puts the terminal in raw mode (no echo, no line buffering) while the console is open.
final class RawTerminal {
    private var saved = termios()
    private let active: Bool

    init() {
        active = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0
        guard active else { return }
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    }

    func restore() {
        if active { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
    }
}
