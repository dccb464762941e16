import Foundation

/// Grades in the two forms other tools read: CSV for spreadsheets and LMS imports, JUnit XML
/// for CI systems that show one test per check.
public enum Gradebook {
    /// One row per report: `student,total,possible,percent,<check ids...>,rejected` (RFC 4180:
    /// CRLF line ends, fields with `,` `"` CR or LF quoted, `"` doubled). A check a report lacks
    /// is an empty cell; a rejected bundle has total 0, empty check cells and its reason.
    public static func csv(_ reports: [GradeReport], checkIDs: [String]) -> String {
        var rows = [["student", "total", "possible", "percent"] + checkIDs + ["rejected"]]
        for report in reports {
            let earned = Dictionary(report.checks.map { ($0.id, $0.earned) }, uniquingKeysWith: { a, _ in a })
            let cells = checkIDs.map { id in report.rejected == nil ? earned[id].map(shortNumber) ?? "" : "" }
            let total = report.rejected == nil ? report.total : 0
            let percent = report.rejected == nil ? report.percent : 0
            rows.append([report.student, shortNumber(total), shortNumber(report.possible), shortNumber(percent)]
                        + cells + [report.rejected ?? ""])
        }
        return rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A JUnit XML document: one `testsuite` named `suiteName` with a `testcase` per case
    /// (`classname`, `name`, `time` in seconds) and a `failure` for each failed one.
    public static func junit(suiteName: String, cases: [(name: String, className: String, failure: String?, seconds: Double)])
        -> String {
        let failures = cases.filter { $0.failure != nil }.count
        let total = cases.reduce(0) { $0 + ($1.seconds.isFinite ? Swift.max($1.seconds, 0) : 0) }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\" time=\"\(seconds(total))\">\n"
        xml += "  <testsuite name=\"\(xmlEscape(suiteName))\" tests=\"\(cases.count)\" failures=\"\(failures)\" "
            + "errors=\"0\" skipped=\"0\" time=\"\(seconds(total))\">\n"
        for c in cases {
            let open = "    <testcase classname=\"\(xmlEscape(c.className))\" name=\"\(xmlEscape(c.name))\" "
                + "time=\"\(seconds(c.seconds))\""
            if let failure = c.failure {
                let firstLine = failure.split(whereSeparator: \.isNewline).first.map(String.init) ?? failure
                xml += open + ">\n"
                xml += "      <failure message=\"\(xmlEscape(firstLine))\">\(xmlEscape(failure))</failure>\n"
                xml += "    </testcase>\n"
            } else {
                xml += open + "/>\n"
            }
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func seconds(_ s: Double) -> String {
        String(format: "%.3f", s.isFinite ? Swift.max(s, 0) : 0)
    }

    /// Text safe in XML 1.0 content and attributes: markup characters become entities, line
    /// breaks and tabs character references (attributes keep them), and characters XML 1.0
    /// cannot carry at all become U+FFFD.
    static func xmlEscape(_ text: String) -> String {
        escapeMarkup(text).replacingOccurrences(of: "\n", with: "&#10;")
            .replacingOccurrences(of: "\r", with: "&#13;").replacingOccurrences(of: "\t", with: "&#9;")
    }
}
