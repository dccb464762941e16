import Foundation

/// Text from a student (a file name, a lab name, an answer key) shown to a teacher: on a
/// terminal an escape sequence would be obeyed, and in a log a megabyte would bury the rest.
/// So control and formatting characters are shown as escapes (`\n`, `\u{1B}`) and the text
/// is cut with `…` so the result has at most `limit` characters (scalars); it is one line.
public func displayText(_ text: String, limit: Int = 80) -> String {
    var out = ""
    var count = 0
    /// How long `out` was (in scalars) when it last left room for `…`.
    var cut = 0
    for scalar in text.unicodeScalars {
        let piece: String
        switch scalar {
        case "\n": piece = "\\n"
        case "\r": piece = "\\r"
        case "\t": piece = "\\t"
        default:
            piece = isInvisible(scalar) ? "\\u{\(String(scalar.value, radix: 16, uppercase: true))}" : String(scalar)
        }
        count += piece.unicodeScalars.count
        if count > limit { return String(String.UnicodeScalarView(out.unicodeScalars.prefix(cut))) + "…" }
        out += piece
        if count <= limit - 1 { cut = count }
    }
    return out
}

/// C0 and C1 controls, DEL, and the format characters that reorder or hide text (bidi
/// overrides, zero-width characters, the BOM).
func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    return v < 0x20 || (0x7F...0x9F).contains(v) || scalar.properties.generalCategory == .format
        || (0x2028...0x2029).contains(v)
}

/// A reason for a report or a gradebook cell: one line of at most `limit` characters.
public func oneLineReason(_ text: String, limit: Int = 300) -> String {
    displayText(text, limit: limit)
}
