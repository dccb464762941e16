import Foundation
@testable import Grading
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport
@testable import VMLabSupport

/// A gradebook opened in a real spreadsheet: LibreOffice (headless) reads the CSV into the
/// rows and columns written, numbers as numbers, and runs no formula a file name smuggled
/// in. Needs `soffice` (libreoffice-calc, installed by scripts/setup.sh); on CI (CI=true)
/// a missing soffice fails the test instead of skipping it.
@Suite("Grading: gradebook in a spreadsheet", .serialized)
struct GradingSpreadsheetTests {
    static let soffice = Subprocess.which("soffice")
    static let onCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// One cell as LibreOffice holds it.
    struct Cell: Equatable {
        var type: String
        var text: String
        var formula: String?
    }

    /// The first sheet of a flat ODS document, empty cells expanded.
    static func sheet(_ fods: Data) throws -> [[Cell]] {
        let document = try XMLDocument(data: fods)
        let rows = try document.nodes(forXPath: "//*[local-name()='table'][1]/*[local-name()='table-row']")
        return rows.map { row in
            var cells: [Cell] = []
            for case let cell as XMLElement in row.children ?? [] where cell.localName == "table-cell" {
                let repeated = Int(cell.attribute(forName: "table:number-columns-repeated")?.stringValue ?? "1") ?? 1
                let text = (cell.children ?? []).compactMap { ($0 as? XMLElement)?.stringValue }.joined(separator: "\n")
                let found = Cell(type: cell.attribute(forName: "office:value-type")?.stringValue ?? "",
                                 text: text, formula: cell.attribute(forName: "table:formula")?.stringValue)
                cells += Array(repeating: found, count: Swift.min(repeated, 64))
            }
            return cells
        }
    }

    @Test(.enabled(if: soffice != nil || onCI, "soffice (libreoffice-calc) is not installed"))
    func libreOfficeReadsTheRowsAndColumnsWrittenAndRunsNoFormula() async throws {
        let soffice = try #require(Self.soffice, "soffice is missing: install libreoffice-calc (scripts/setup.sh)")
        let dir = try TempDir("vmlab-calc")
        defer { dir.remove() }
        func report(_ student: String, _ earned: [Double]) -> GradeReport {
            let checks = earned.enumerated().map { i, e in
                CheckResult(id: "c\(i + 1)", title: "", points: 2, earned: e, passed: e == 2, feedback: nil, detail: "")
            }
            let total = earned.reduce(0, +)
            return GradeReport(student: student, lab: "lab", checks: checks, total: total, possible: 4, percent: total / 4 * 100)
        }
        let hostile = ["=HYPERLINK(\"http://evil.example\",\"open me\").json", "+1+2.json", "-3+4.json", "@SUM(1).json",
                       "\tcmd.json", "\rcr.json", "=1+1"]
        let reports = [report("alice", [2, 0.667]), report("o'neil,jr", [1, 2])]
            + hostile.map { GradeReport.rejection(student: $0, lab: "lab", possible: 4, reason: "=cmd|' /C calc'!A0 \"quoted\", too") }
        let csv = dir.path("gradebook.csv")
        try Gradebook.csv(reports, checkIDs: ["c1", "c2"]).write(to: csv, atomically: true, encoding: .utf8)

        let out = dir.path("out")
        try await Subprocess.run(["timeout", "180", soffice, "-env:UserInstallation=\(dir.path("profile").absoluteString)",
                                  "--headless", "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", out.path, csv.path])
        let rows = try Self.sheet(try Data(contentsOf: out.appendingPathComponent("gradebook.fods")))

        #expect(rows.count == 1 + reports.count)
        let header = rows.first?.map(\.text)
        #expect(header == ["student", "total", "possible", "percent", "c1", "c2", "rejected"])
        for (index, row) in rows.enumerated() {
            #expect(row.allSatisfy { $0.formula == nil }, "row \(index) holds a formula: \(row)")
        }
        #expect(rows[1].prefix(6).map(\.text) == ["alice", "2.667", "4", "66.675", "2", "0.667"])
        #expect(rows[1].dropFirst().prefix(5).allSatisfy { $0.type == "float" }, "numbers stay numbers")
        #expect(rows[2].first?.text == "o'neil,jr")
        for (offset, name) in hostile.enumerated() {
            let row = rows[3 + offset]
            // A tab or CR inside a cell comes back as ODF markup, not as text: compare the rest.
            let shown = name.filter { $0 != "\t" && $0 != "\r" }
            #expect(row.first?.type == "string" && row.first?.text.filter { $0 != "\n" } == "'" + shown,
                    "\(name.debugDescription): \(row)")
            #expect(row.count >= 7 && row[6].text == "'=cmd|' /C calc'!A0 \"quoted\", too" && row[6].type == "string")
            #expect(row[1].type == "float" && row[1].text == "0")
        }
    }
}
