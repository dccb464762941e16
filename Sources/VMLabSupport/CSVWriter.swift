import Foundation

/// The one CSV writer (RFC 4180), for results tables and gradebooks alike: spreadsheets,
/// pandas and LMS imports all read what it writes.
package enum CSVWriter {
    /// Every row as fields joined by `,`, each row ending in CRLF (the last one too); fields
    /// are quoted only when they must be. With `neutralizingFormulas`, a field a spreadsheet
    /// would run as a formula is written as text (see `neutralized`): for files whose cells
    /// hold text others chose, like a gradebook's student names and reasons.
    package static func text(_ rows: [[String]], neutralizingFormulas: Bool = false) -> String {
        rows.map { row in
            row.map { field(neutralizingFormulas ? neutralized($0) : $0) }.joined(separator: ",") + "\r\n"
        }.joined()
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

    /// A field starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, as OWASP
    /// advises for CSV injection: Excel and LibreOffice then take it as text, not as a
    /// formula (`=HYPERLINK(...)` in a file name stays a name). A plain number (`-1.5`) is
    /// left alone: it is no formula, and a gradebook's numbers must stay numbers.
    static func neutralized(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first),
              !isPlainNumber(text) else { return text }
        return "'" + text
    }

    /// `-12`, `-0.5`: a sign, digits, at most one point.
    static func isPlainNumber(_ text: String) -> Bool {
        var scalars = Substring(text).unicodeScalars
        if scalars.first == "-" || scalars.first == "+" { scalars = scalars.dropFirst() }
        let parts = String(scalars).split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        return !parts[0].isEmpty && parts.allSatisfy { !$0.isEmpty && $0.unicodeScalars.allSatisfy { ("0"..."9").contains($0) } }
    }
}
