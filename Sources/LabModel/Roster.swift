import Foundation
import VMLabSupport

/// A class list: the student ids of a roster CSV, in file order. The id is the first column of
/// each row (other columns, such as names, are ignored); a first row whose first column is
/// `student` or `id` is a header. Every problem is reported with its line, so one pass over
/// a spreadsheet export finds them all.
public struct Roster: Sendable, Equatable {
    public let students: [String]

    public init(students: [String]) { self.students = students }

    /// Reads the roster CSV at `url`.
    public static func load(_ url: URL) throws -> Roster {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw VMLabError(.notFound, "cannot read the roster \(url.path)", cause: error)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecErrors(errors: [SpecError(file: url.path, line: nil, field: "", message: "is not UTF-8 text")])
        }
        return try parse(text, file: url.path)
    }

    /// The roster in `text`, the content of `file` (named in every error).
    public static func parse(_ text: String, file: String) throws -> Roster {
        var students: [String] = []
        var firstLine: [String: Int] = [:]
        var errors: [SpecError] = []
        var sawRow = false
        // Spreadsheets write a byte-order mark and CRLF line ends.
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        for (index, rawLine) in body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let id = firstColumn(line)
            let isFirstRow = !sawRow
            sawRow = true
            if isFirstRow, ["student", "id"].contains(id.lowercased()) { continue }
            if let problem = studentIDProblem(id) {
                errors.append(SpecError(file: file, line: number, field: "student", message: problem))
            } else if let earlier = firstLine[id] {
                errors.append(SpecError(file: file, line: number, field: "student",
                                        message: "\(id) is already on line \(earlier); list each student once"))
            } else {
                firstLine[id] = number
                students.append(id)
            }
        }
        if errors.isEmpty && students.isEmpty {
            errors.append(SpecError(file: file, line: nil, field: "", message: "lists no students; write one student id per line"))
        }
        guard errors.isEmpty else { throw SpecErrors(errors: errors) }
        return Roster(students: students)
    }

    /// The first field of a CSV row, without surrounding spaces or quotes.
    static func firstColumn(_ line: String) -> String {
        var field = String(line.prefix { $0 != "," }).trimmingCharacters(in: .whitespaces)
        if field.count >= 2, field.hasPrefix("\""), field.hasSuffix("\"") {
            field = String(field.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
        }
        return field
    }
}
