import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// Where output goes: results to stdout, progress to stderr.
enum Output {
    static func line(_ text: String) {
        write(text + "\n", to: STDOUT_FILENO)
    }

    /// Writes all of `text`; a reader that went away (EPIPE: `vmlab results | head`) ends
    /// the output quietly, with status 0, rather than a crash.
    static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EPIPE { Foundation.exit(0) }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }

    static func progress(_ text: String) {
        write("==> " + text + "\n", to: STDERR_FILENO)
    }

    static func warn(_ text: String) {
        write("vmlab: warning: " + text + "\n", to: STDERR_FILENO)
    }

    /// Prints rows as an aligned table with a header.
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        line(render(header))
        rows.forEach { line(render($0)) }
    }

    /// Raw bytes to stdout (CSV, generated documents, a guest's output).
    static func raw(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Prints an Encodable value as pretty JSON.
    static func json<T: Encodable>(_ value: T) throws {
        line(String(decoding: try JSONCoding.encoder().encode(value), as: UTF8.self))
    }
}

extension Output {
    /// The progress callback handed to the core.
    static let reporter: @Sendable (String) -> Void = { Output.progress($0) }
}
