import Foundation

/// The one CSV writer (RFC 4180), for results tables and gradebooks alike: spreadsheets,
/// pandas and LMS imports all read what it writes.
package enum CSVWriter {
    /// Every row as fields joined by `,`, each row ending in CRLF (the last one too); fields
    /// are quoted only when they must be.
    package static func text(_ rows: [[String]]) -> String {
        rows.map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }

    /// `text` as it goes into a file: quoted when it holds `,`, `"`, CR or LF, with inner
    /// quotes doubled; otherwise as is.
    static func field(_ text: String) -> String {
        // Unicode scalars, not Characters: a `,` or `"` followed by a combining mark is one
        // Character that compares unequal to them, yet a CSV reader still sees the separator.
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
            return text
        }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { quoted += "\"\"" } else { quoted.unicodeScalars.append(scalar) }
        }
        return quoted + "\""
    }
}
