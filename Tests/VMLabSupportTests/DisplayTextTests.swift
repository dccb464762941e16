import Testing
@testable import VMLabSupport

/// Guards how a student's text is shown to a teacher: escapes visible, one line, bounded.
@Suite("Display text")
struct DisplayTextTests {
    @Test(arguments: [
        ("plain.json", "plain.json"), ("\u{1B}[31mred\u{1B}[0m", "\\u{1B}[31mred\\u{1B}[0m"), ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("rtl\u{202E}gpj.exe", "rtl\\u{202E}gpj.exe"), ("zero\u{200B}width", "zero\\u{200B}width"), ("del\u{7F}", "del\\u{7F}"),
        ("c1\u{9B}31m", "c1\\u{9B}31m"), ("été ünï 名前", "été ünï 名前"), ("", ""),
    ])
    func controlsAndFormatCharactersAreEscaped(_ raw: String, _ shown: String) {
        #expect(displayText(raw) == shown)
    }

    @Test func longTextIsCutWithAnEllipsisWithinTheLimit() {
        let long = String(repeating: "x", count: 1 << 20)
        #expect(displayText(long, limit: 10) == "xxxxxxxxx…")
        #expect(displayText("exactly10!", limit: 10) == "exactly10!")
        #expect(displayText("\u{1B}\u{1B}\u{1B}", limit: 12) == "\\u{1B}…", "an escape is never cut in half")
        let reason = oneLineReason("line one\nline two " + long)
        #expect(reason.unicodeScalars.count == 300 && !reason.contains("\n") && reason.hasSuffix("…"))
    }
}
