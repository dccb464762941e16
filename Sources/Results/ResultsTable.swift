import Foundation
import LabModel
import VMLabSupport

/// Measurements pivoted to one row per run, so a sweep reads as a table (terminal, CSV for
/// spreadsheets and pandas, JSON for scripts) and only the parameters that changed take columns.
public struct ResultsTable: Sendable, Equatable {
    /// One recorded value with its unit, as it appears in a cell.
    public struct Value: Sendable, Equatable {
        public var value: Double
        public var unit: String

        public init(value: Double, unit: String) {
            self.value = value
            self.unit = unit
        }
    }

    /// One run: its identity, every parameter it used, and its values by measurement name.
    public struct Row: Sendable, Equatable {
        public var runID: Int64
        public var experiment: String
        public var parameters: [String: String]
        public var repetition: Int
        /// When the run's first value was taken.
        public var takenAt: Date
        public var values: [String: Value]
    }

    /// A measurement column; the unit is the first one seen for that name (headers need one).
    public struct Column: Sendable, Equatable {
        public var name: String
        public var unit: String
    }

    /// Runs in run-id order (the order they were recorded).
    public let rows: [Row]
    /// RunMeasurement columns in the order their names first appear in the input.
    public let measurementColumns: [Column]
    /// Parameters whose value differs between runs (or is missing from some), by name:
    /// the ones worth a column.
    public let variedParameters: [String]
    /// Parameters with the same value in every run: said once instead of repeated per row.
    public let constantParameters: [String: String]

    /// Pivots `measurements`; if a run records the same name twice, the first value wins.
    public init(_ measurements: [RunMeasurement]) {
        var rowsByRun: [Int64: Row] = [:]
        var columns: [Column] = []
        var seenNames: Set<String> = []
        for m in measurements {
            if seenNames.insert(m.name).inserted {
                columns.append(Column(name: m.name, unit: m.unit))
            }
            if var row = rowsByRun[m.runID] {
                row.parameters.merge(m.parameters) { first, _ in first }
                row.takenAt = min(row.takenAt, m.takenAt)
                if row.values[m.name] == nil {
                    row.values[m.name] = Value(value: m.value, unit: m.unit)
                }
                rowsByRun[m.runID] = row
            } else {
                rowsByRun[m.runID] = Row(runID: m.runID, experiment: m.experiment, parameters: m.parameters,
                                         repetition: m.repetition, takenAt: m.takenAt,
                                         values: [m.name: Value(value: m.value, unit: m.unit)])
            }
        }
        let rows = rowsByRun.values.sorted { $0.runID < $1.runID }
        let (varied, constant) = Self.splitParameters(rows.map(\.parameters))
        self.rows = rows
        self.measurementColumns = columns
        self.variedParameters = varied
        self.constantParameters = constant
    }

    /// Which parameter names vary across `runs` (sorted) and which hold one value everywhere.
    static func splitParameters(_ runs: [[String: String]]) -> (varied: [String], constant: [String: String]) {
        let names = Set(runs.flatMap(\.keys))
        var varied: [String] = []
        var constant: [String: String] = [:]
        for name in names.sorted() {
            let values = runs.map { $0[name] }
            if let first = values.first, let value = first, values.allSatisfy({ $0 == first }) {
                constant[name] = value
            } else {
                varied.append(name)
            }
        }
        return (varied, constant)
    }

    // MARK: Cells shared by every format

    /// Column titles for human-facing tables (text, HTML): units live in the cells.
    var displayHeaders: [String] {
        ["run", "experiment"] + variedParameters + ["repetition"] + measurementColumns.map(\.name)
    }

    /// Human-facing cells of `row`, in `displayHeaders` order; a missing value is empty.
    func displayCells(_ row: Row) -> [String] {
        [String(row.runID), row.experiment]
            + variedParameters.map { row.parameters[$0] ?? "" }
            + [String(row.repetition)]
            + measurementColumns.map { column in
                row.values[column.name].map { Self.format($0.value, unit: $0.unit) } ?? ""
            }
    }

    /// `constantParameters` as one line, `a=1, b=x`, sorted by name.
    var constantSummary: String {
        constantParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    // MARK: Text

    /// An aligned table for the terminal: a line of the constant parameters, a header, a rule,
    /// then one line per run. Every column starts at the same position on every line.
    public func text() -> String {
        guard !rows.isEmpty else { return "(no measurements)\n" }
        let header = displayHeaders.map(Self.singleLine)
        let body = rows.map { displayCells($0).map(Self.singleLine) }
        let widths = header.indices.map { column in
            ([header] + body).map { $0[column].count }.max() ?? 0
        }
        // Widths count characters (not UTF-16 units), so accented labels stay aligned.
        func line(_ cells: [String]) -> String {
            var line = cells.enumerated().map { index, cell in
                cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
        var lines: [String] = []
        if !constantParameters.isEmpty {
            lines.append("parameters: " + Self.singleLine(constantSummary))
        }
        lines.append(line(header))
        lines.append(line(widths.map { String(repeating: "-", count: $0) }))
        lines += body.map(line)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Control characters would break alignment: shown escaped instead.
    static func singleLine(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.properties.generalCategory == .control {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    // MARK: CSV

    /// RFC 4180 CSV (CRLF line ends) for spreadsheets and data frames: every parameter that
    /// varies, numbers raw (units in the header), missing values empty.
    public func csv() -> String {
        let header = ["run", "experiment"] + variedParameters + ["repetition"]
            + measurementColumns.map { $0.unit.isEmpty ? $0.name : "\($0.name) [\($0.unit)]" }
        let body = rows.map { row in
            [String(row.runID), row.experiment]
                + variedParameters.map { row.parameters[$0] ?? "" }
                + [String(row.repetition)]
                + measurementColumns.map { column in row.values[column.name].map { Self.raw($0.value) } ?? "" }
        }
        return CSVWriter.text([header] + body)
    }

    /// The value as a machine reads it: integers without ".0", others in shortest round-trip
    /// form; NaN and infinities as `nan`, `inf`, `-inf` (what pandas and R accept).
    static func raw(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    // MARK: JSON

    /// Pretty JSON with sorted keys: an array of runs, each
    /// `{run, experiment, parameters, repetition, takenAt, measurements: {name: {value, unit}}}`,
    /// dates in ISO 8601, a non-finite value as `null`.
    public func json() throws -> String {
        let data = try JSONCoding.encoder().encode(rows.map(JSONRow.init))
        return String(decoding: data, as: UTF8.self)
    }

    private struct JSONRow: Encodable {
        var run: Int64
        var experiment: String
        var parameters: [String: String]
        var repetition: Int
        var takenAt: Date
        var measurements: [String: JSONValue]

        init(_ row: Row) {
            run = row.runID
            experiment = row.experiment
            parameters = row.parameters
            repetition = row.repetition
            takenAt = row.takenAt
            measurements = row.values.mapValues { JSONValue(value: $0.value, unit: $0.unit) }
        }
    }

    private struct JSONValue: Encodable {
        var value: Double
        var unit: String

        enum CodingKeys: String, CodingKey { case value, unit }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if value.isFinite {
                try container.encode(value, forKey: .value)
            } else {
                try container.encodeNil(forKey: .value)
            }
            try container.encode(unit, forKey: .unit)
        }
    }

    // MARK: Number formatting

    /// `value` with three significant digits and its unit ("0.134 s", "12.5%", "1024 MiB"):
    /// enough to compare runs, short enough to scan. NaN and infinities go without a unit.
    static func format(_ value: Double, unit: String) -> String {
        let number = format(value)
        if unit.isEmpty || !value.isFinite { return number }
        if unit == "%" { return number + unit }
        return number + " " + unit
    }

    /// Three significant digits like `%.3g`, but whole numbers from 1000 up to 10^15 are shown
    /// in full rather than with an exponent; exponents only for tiny or huge magnitudes.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        // %.3g only switches to an exponent below 1e-4 or from 999.5 up (it rounds to 1e+03).
        if magnitude < 999.5 || magnitude >= 1e15 { return String(format: "%.3g", value) }
        return String(format: "%.0f", value)
    }
}
