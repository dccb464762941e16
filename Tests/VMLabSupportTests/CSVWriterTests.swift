import Testing
@testable import VMLabSupport

/// Guards the one CSV writer: RFC 4180 quoting and CRLF rows.
@Suite("CSV writer")
struct CSVWriterTests {
    @Test(arguments: [
        ("plain", "plain"), ("", ""), ("a b;c\t", "a b;c\t"), ("é", "é"),
        ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("\"", "\"\"\"\""),
        ("a\nb", "\"a\nb\""), ("a\rb", "\"a\rb\""), ("a\r\nb", "\"a\r\nb\""),
        // A combining mark makes `,` or `"` part of a larger Character; a CSV reader still sees them.
        ("a,\u{301}b", "\"a,\u{301}b\""), ("x\"\u{301}", "\"x\"\"\u{301}\""),
    ])
    func fieldsAreQuotedOnlyWhenNeeded(raw: String, written: String) {
        #expect(CSVWriter.field(raw) == written)
    }

    /// OWASP's CSV injection advice: a cell a spreadsheet would evaluate starts with `'`.
    @Test(arguments: [
        ("=HYPERLINK(\"http://x\",\"y\").json", "'=HYPERLINK(\"http://x\",\"y\").json"), ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-", "'-"),
        ("alice", "alice"), ("a=b", "a=b"), ("-1.5", "-1.5"), ("42", "42"), ("+7", "+7"), ("", ""), ("'x", "'x"),
    ])
    func formulasAreNeutralizedOnRequest(raw: String, written: String) {
        #expect(CSVWriter.neutralized(raw) == written)
        #expect(CSVWriter.text([[raw]]) == CSVWriter.field(raw) + "\r\n", "plain text() leaves fields alone")
        #expect(CSVWriter.text([[raw]], neutralizingFormulas: true) == CSVWriter.field(written) + "\r\n")
    }

    @Test func rowsEndInCRLFIncludingTheLast() {
        #expect(CSVWriter.text([["a", "b"], ["1", "x,y"], []]) == "a,b\r\n1,\"x,y\"\r\n\r\n")
        #expect(CSVWriter.text([]) == "")
    }
}
