import Foundation
@testable import LabModel
@testable import Results
import Testing
@testable import VMLabSupport

/// A measurement with test defaults; `at` is seconds after 2025-01-01T00:00:00Z.
private func measurement(run: Int64, experiment: String = "boot", name: String = "boot_time", value: Double,
                         unit: String = "s", parameters: [String: String], repetition: Int = 0,
                         at seconds: Double = 0) -> RunMeasurement {
    RunMeasurement(runID: run, experiment: experiment, name: name, value: value, unit: unit,
                       parameters: parameters, repetition: repetition,
                       takenAt: Date(timeIntervalSince1970: 1_735_689_600 + seconds))
}

/// Splits RFC 4180 CSV into records of fields (quoted fields may hold separators and line breaks).
private func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = [], record: [String] = [], field = ""
    var quoted = false, index = text.unicodeScalars.startIndex
    let scalars = text.unicodeScalars
    while index < scalars.endIndex {
        let c = scalars[index]
        index = scalars.index(after: index)
        if quoted {
            if c == "\"" {
                if index < scalars.endIndex, scalars[index] == "\"" {
                    field += "\""
                    index = scalars.index(after: index)
                } else {
                    quoted = false
                }
            } else {
                field.unicodeScalars.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            record.append(field); field = ""
        } else if c == "\r" {
            continue
        } else if c == "\n" {
            record.append(field); field = ""
            records.append(record); record = []
        } else {
            field.unicodeScalars.append(c)
        }
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

@Suite("Results: table")
struct ResultsTableTests {
    /// Three runs of a commit sweep, each with a time and a throughput.
    static let sweep: [RunMeasurement] = [
        measurement(run: 1, value: 0.1342, parameters: ["commit": "1", "image": "alpine"]),
        measurement(run: 1, name: "throughput", value: 812.4, unit: "MB/s", parameters: ["commit": "1", "image": "alpine"]),
        measurement(run: 2, value: 0.151, parameters: ["commit": "5", "image": "alpine"]),
        measurement(run: 2, name: "throughput", value: 1203, unit: "MB/s", parameters: ["commit": "5", "image": "alpine"]),
        measurement(run: 3, value: 0.2, parameters: ["commit": "30", "image": "alpine"], repetition: 1),
        measurement(run: 3, name: "throughput", value: 15_321.7, unit: "MB/s", parameters: ["commit": "30", "image": "alpine"], repetition: 1),
    ]

    @Test func separatesVariedFromConstantParameters() {
        let table = ResultsTable([
            measurement(run: 1, value: 1, parameters: ["b": "x", "a": "1", "mem": "512", "only": "here"]),
            measurement(run: 2, value: 2, parameters: ["b": "y", "a": "1", "mem": "512"]),
            measurement(run: 3, value: 3, parameters: ["b": "x", "a": "2", "mem": "512"]),
        ])
        #expect(table.variedParameters == ["a", "b", "only"])
        #expect(table.constantParameters == ["mem": "512"])
    }

    @Test func aSingleRunHasOnlyConstantParameters() {
        let table = ResultsTable([measurement(run: 9, value: 1, parameters: ["a": "1", "b": "2"])])
        #expect(table.variedParameters.isEmpty)
        #expect(table.constantParameters == ["a": "1", "b": "2"])
    }

    @Test func oneRowPerRunWithColumnsInFirstSeenOrder() {
        let shuffled = [Self.sweep[5], Self.sweep[2], Self.sweep[0], Self.sweep[1], Self.sweep[4], Self.sweep[3]]
        let table = ResultsTable(shuffled)
        #expect(table.rows.map(\.runID) == [1, 2, 3])
        #expect(table.measurementColumns.map(\.name) == ["throughput", "boot_time"])
        #expect(table.rows[2].values["boot_time"] == .init(value: 0.2, unit: "s"))
        #expect(table.rows[2].repetition == 1)
        #expect(table.displayHeaders == ["run", "experiment", "commit", "repetition", "throughput", "boot_time"])
    }

    @Test func textHasAHeaderAndAlignedColumns() throws {
        let text = ResultsTable(Self.sweep).text()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.first == "parameters: image=alpine")
        let table = Array(lines.dropFirst())
        #expect(table.count == 2 + 3)
        let rule = table[1]
        let ruleChars = Array(rule)
        // Columns start where a run of dashes starts.
        let starts = ruleChars.indices.filter { ruleChars[$0] == "-" && ($0 == 0 || ruleChars[$0 - 1] == " ") }
        #expect(starts.count == 6)
        let header = table[0]
        for title in ["run", "experiment", "commit", "repetition", "boot_time", "throughput"] {
            #expect(header.contains(title))
        }
        for line in table {
            let chars = Array(line)
            for start in starts.dropFirst() {
                #expect(chars.count > start, "line too short: \(line)")
                guard chars.count > start else { continue }
                #expect(chars[start - 1] == " " && chars[start - 2] == " ", "no gap before column at \(start): \(line)")
                #expect(chars[start] != " ", "column at \(start) does not start there: \(line)")
            }
            #expect(!line.hasSuffix(" "))
        }
        #expect(table[2].contains("0.134 s"))
        #expect(table[4].contains("15322 MB/s"))
    }

    @Test func textAlignsNonASCIILabelsAndEscapesLineBreaks() {
        let text = ResultsTable([
            measurement(run: 1, value: 1, parameters: ["fs": "ext4 ü🙂"]),
            measurement(run: 2, value: 2, parameters: ["fs": "x\ny"]),
        ]).text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        let column = lines.map { Array($0).firstIndex(of: "0") }  // the repetition column
        #expect(Set(column.dropFirst(2)).count == 1)
        #expect(lines[3].contains("x\\ny"))
    }

    @Test func textOfNothing() {
        #expect(ResultsTable([]).text() == "(no measurements)\n")
    }

    @Test func numbersHaveThreeSignificantDigitsWithoutExponents() {
        #expect(ResultsTable.format(0.1342) == "0.134")
        #expect(ResultsTable.format(0.1) == "0.1")
        #expect(ResultsTable.format(1.5) == "1.5")
        #expect(ResultsTable.format(42) == "42")
        #expect(ResultsTable.format(123.456) == "123")
        #expect(ResultsTable.format(999.7) == "1000")
        #expect(ResultsTable.format(12_345.6) == "12346")
        #expect(ResultsTable.format(0) == "0")
        #expect(ResultsTable.format(-0.0021) == "-0.0021")
        #expect(ResultsTable.format(2.5e-6) == "2.5e-06")
        #expect(ResultsTable.format(.nan) == "nan")
        #expect(ResultsTable.format(-.infinity) == "-inf")
        #expect(ResultsTable.format(0.134, unit: "s") == "0.134 s")
        #expect(ResultsTable.format(12.5, unit: "%") == "12.5%")
        #expect(ResultsTable.format(7, unit: "") == "7")
        #expect(ResultsTable.format(.nan, unit: "ms") == "nan")
    }

    @Test func csvHasAHeaderRawNumbersAndQuotesSpecialFields() {
        let awkward = ["plain", "a,b", "say \"hi\"", "two\nlines"]
        let measurements = awkward.enumerated().map { index, label in
            measurement(run: Int64(index + 1), value: index == 0 ? 0.1342 : Double(index * 10),
                        parameters: ["label": label, "mem": "512"])
        } + [measurement(run: 1, name: "count", value: 3, unit: "", parameters: ["label": "plain", "mem": "512"])]
        let csv = ResultsTable(measurements).csv()
        #expect(csv.hasPrefix("run,experiment,label,repetition,boot_time [s],count\r\n"))
        #expect(csv.contains("\"a,b\""))
        #expect(csv.contains("\"say \"\"hi\"\"\""))
        #expect(csv.contains("\"two\nlines\""))
        #expect(csv.hasSuffix("\r\n"))
        let records = parseCSV(csv)
        #expect(records.count == 5)
        #expect(records[0] == ["run", "experiment", "label", "repetition", "boot_time [s]", "count"])
        #expect(records[1] == ["1", "boot", "plain", "0", "0.1342", "3"])
        #expect(records.dropFirst().map { $0[2] } == awkward)
        #expect(records[4] == ["4", "boot", "two\nlines", "0", "30", ""])
    }

    @Test func csvFieldQuoting() {
        #expect(CSVWriter.field("x") == "x")
        #expect(CSVWriter.field("a,b") == "\"a,b\"")
        #expect(CSVWriter.field("q\"") == "\"q\"\"\"")
        #expect(CSVWriter.field("a\r\nb") == "\"a\r\nb\"")
        #expect(ResultsTable.raw(30) == "30")
        #expect(ResultsTable.raw(0.1342) == "0.1342")
        #expect(ResultsTable.raw(.infinity) == "inf")
    }

    @Test func jsonRoundTripsWithTheDocumentedStructure() throws {
        var measurements = Self.sweep
        measurements.append(measurement(run: 3, name: "errors", value: .nan, unit: "", parameters: ["commit": "30", "image": "alpine"],
                                        repetition: 1, at: 90))
        let json = try ResultsTable(measurements).json()
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8))
        let runs = try #require(parsed as? [[String: Any]])
        #expect(runs.count == 3)
        for run in runs {
            #expect(Set(run.keys) == ["run", "experiment", "parameters", "repetition", "takenAt", "measurements"])
        }
        let first = runs[0]
        #expect(first["run"] as? Int == 1)
        #expect(first["experiment"] as? String == "boot")
        #expect(first["repetition"] as? Int == 0)
        #expect(first["parameters"] as? [String: String] == ["commit": "1", "image": "alpine"])
        let takenAt = try #require(first["takenAt"] as? String)
        #expect(takenAt == "2025-01-01T00:00:00Z")
        #expect(ISO8601DateFormatter().date(from: takenAt) != nil)
        let values = try #require(first["measurements"] as? [String: [String: Any]])
        #expect(values["boot_time"]?["value"] as? Double == 0.1342)
        #expect(values["boot_time"]?["unit"] as? String == "s")
        #expect(values["throughput"]?["unit"] as? String == "MB/s")
        let last = try #require(runs[2]["measurements"] as? [String: [String: Any]])
        #expect(last["errors"]?["value"] is NSNull)
        #expect(json.contains("\n  "))  // pretty
        #expect(json.range(of: "\"experiment\"")!.lowerBound < json.range(of: "\"measurements\"")!.lowerBound)  // sorted keys
        let empty = try ResultsTable([]).json()
        #expect(try JSONSerialization.jsonObject(with: Data(empty.utf8)) as? [Any] != nil)
        #expect(ResultsTable([]).csv() == "run,experiment,repetition\r\n")
    }

    @Test func theLabsDeclarationOrderFixesColumnsOfParallelMeasures() throws {
        func command(_ name: String, _ vm: String) -> Step {
            .measure(MeasureStep(name: name, unit: "MiB", source: .command(vm: vm, command: "x", extract: .number, timeoutSeconds: 9)))
        }
        let total = Step.measure(MeasureStep(name: "total", unit: "MiB", source: .expression(try Formula("a + b"))))
        let lab = LabSpec(name: "x", title: "t", summary: "s", image: "base", parameters: [], networks: [],
                          vms: [VMSpec(name: "g1"), VMSpec(name: "g2")], setup: [],
                          experiments: [ExperimentSpec(name: "e", steps: [.parallel([command("a", "g1"), command("b", "g2")]), total])],
                          source: URL(fileURLWithPath: "/c/Labs/x/lab.yaml"))
        #expect(lab.measureNames(of: "e") == ["a", "b", "total"])
        func m(_ run: Int64, _ name: String) -> RunMeasurement {
            RunMeasurement(runID: run, experiment: "e", name: name, value: 1, unit: "MiB", parameters: [:], repetition: 0,
                               takenAt: Date(timeIntervalSince1970: 0))
        }
        // As recorded: parallel measures land in the order they finished.
        let recorded = [m(1, "b"), m(1, "a"), m(1, "total"), m(2, "a"), m(2, "b"), m(2, "total"), m(3, "unknown"), m(3, "b")]
        let ordered = lab.inDeclaredOrder(recorded)
        #expect(ordered.map { "\($0.runID)\($0.name)" } == ["1a", "1b", "1total", "2a", "2b", "2total", "3b", "3unknown"])
        #expect(ResultsTable(ordered).measurementColumns.map(\.name) == ["a", "b", "total", "unknown"])
        #expect(ResultsTable(recorded).measurementColumns.map(\.name) == ["b", "a", "total", "unknown"], "the table alone keeps input order")
    }
}
