import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// Grades in the two forms other tools read: CSV for spreadsheets and LMS imports, JUnit XML
/// for CI systems that show one test per check.
public enum Gradebook {
    /// One row per report: `student,total,possible,percent,<check ids...>,rejected` (RFC 4180:
    /// CRLF line ends, fields with `,` `"` CR or LF quoted, `"` doubled). A check a report lacks
    /// is an empty cell; a rejected bundle has total 0, empty check cells and its reason. A
    /// cell a spreadsheet would run as a formula (a file named `=HYPERLINK(...).json`) starts
    /// with `'` so it stays text.
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
        return CSVWriter.text(rows, neutralizingFormulas: true)
    }

    /// A JUnit XML document: one `testsuite` named `suiteName` with a `testcase` per case
    /// (`classname`, `name`, `time` in seconds) and a `failure` for each failed one.
    public static func junit(suiteName: String, cases: [(name: String, className: String, failure: String?, seconds: Double)])
        -> String {
        let failures = String(cases.filter { $0.failure != nil }.count)
        let total = seconds(cases.reduce(0) { $0 + ($1.seconds.isFinite ? Swift.max($1.seconds, 0) : 0) })
        let testcases = cases.map { c in
            let failure = c.failure.map { failure in
                let firstLine = failure.split(whereSeparator: \.isNewline).first.map(String.init) ?? failure
                return XMLTree("failure", ["message": firstLine], text: failure)
            }
            return XMLTree("testcase", ["classname": c.className, "name": c.name, "time": seconds(c.seconds)],
                           children: failure.map { [$0] } ?? [])
        }
        return XMLTree("testsuites", ["tests": String(cases.count), "failures": failures, "errors": "0", "time": total],
                       children: [
                           XMLTree("testsuite", ["name": suiteName, "tests": String(cases.count), "failures": failures,
                                                 "errors": "0", "skipped": "0", "time": total],
                                   children: testcases),
                       ]).document()
    }

    static func seconds(_ s: Double) -> String {
        String(format: "%.3f", s.isFinite ? Swift.max(s, 0) : 0)
    }
}
