import Foundation
@testable import LabModel
@testable import Results
@testable import VMLabSupport
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// A measurement with test defaults; `at` is seconds after 2025-01-01T00:00:00Z.
private func measurement(run: Int64, experiment: String = "boot", name: String = "boot_time", value: Double,
                         unit: String = "s", parameters: [String: String], repetition: Int = 0,
                         at seconds: Double = 0) -> RunMeasurement {
    RunMeasurement(runID: run, experiment: experiment, name: name, value: value, unit: unit,
                       parameters: parameters, repetition: repetition,
                       takenAt: Date(timeIntervalSince1970: 1_735_689_600 + seconds))
}

/// 2 experiments × 2 measurements × commit 1, 5, 30 × 2 repetitions: the sample sweep.
private func sampleSweep() -> [RunMeasurement] {
    var out: [RunMeasurement] = []
    var run: Int64 = 100
    for experiment in ["fsync-latency", "write-throughput"] {
        for commit in [1, 5, 30] {
            for repetition in 0..<2 {
                run += 1
                let parameters = ["commit": String(commit), "journal": "ordered", "disk": "virtio"]
                let c = Double(commit), r = Double(repetition)
                let at = Double(run) * 60
                if experiment == "fsync-latency" {
                    out.append(measurement(run: run, experiment: experiment, name: "p50_latency",
                                           value: 0.8 + 0.05 * c + 0.07 * r, unit: "ms",
                                           parameters: parameters, repetition: repetition, at: at))
                    out.append(measurement(run: run, experiment: experiment, name: "p99_latency",
                                           value: 3.1 + 0.4 * c - 0.3 * r, unit: "ms",
                                           parameters: parameters, repetition: repetition, at: at))
                } else {
                    out.append(measurement(run: run, experiment: experiment, name: "throughput",
                                           value: 180 + 140 * log(c + 1) + 9 * r, unit: "MB/s",
                                           parameters: parameters, repetition: repetition, at: at))
                    out.append(measurement(run: run, experiment: experiment, name: "data_lost",
                                           value: 0.02 * c * (1 + 0.2 * r), unit: "s",
                                           parameters: parameters, repetition: repetition, at: at))
                }
            }
        }
    }
    return out
}

private func occurrences(of needle: String, in haystack: String) -> Int {
    haystack.components(separatedBy: needle).count - 1
}

private func render(_ measurements: [RunMeasurement], title: String = "Commit interval sweep",
            summary: String = "How ext4's commit interval trades latency for data at risk.") -> String {
    HTMLReport(title: title, summary: summary, labName: "ext4-commit",
               generatedAt: Date(timeIntervalSince1970: 1_735_732_800), measurements: measurements).render()
}

/// Parses `html` as XML, which is what keeps the page usable by tools (and well formed).
private func parseXML(_ html: String) throws -> XMLDocument {
    try XMLDocument(data: Data(html.utf8), options: [])
}

@Suite("Results: HTML report")
struct ResultsHTMLReportTests {
    @Test func parsesAsXMLAndHasTheHeader() throws {
        let html = render(sampleSweep())
        let document = try parseXML(html)
        #expect(document.rootElement()?.name == "html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<h1>Commit interval sweep</h1>"))
        #expect(html.contains("ext4&#39;s commit interval"))
        #expect(html.contains("2025-01-01 12:00:00 UTC"))
        #expect(html.contains("datetime=\"2025-01-01T12:00:00Z\""))
        #expect(html.contains("<meta charset=\"utf-8\"/>"))
    }

    @Test func kernelEventsGetASectionWithTheirTraceEscaped() throws {
        let note = KernelEventNote(run: 3, vm: "box", trace: "BUG: kernel NULL pointer dereference\nRIP: <script>x</script>")
        let html = HTMLReport(title: "t", summary: "", labName: "kernel-module", generatedAt: Date(timeIntervalSince1970: 0),
                              measurements: sampleSweep(), kernelEvents: [note]).render()
        _ = try parseXML(html)
        #expect(html.contains("<h2>Kernel events</h2>"))
        #expect(html.contains("run 3, box"))
        #expect(html.contains("BUG: kernel NULL pointer dereference"))
        #expect(!html.contains("<script>"))
        #expect(!render(sampleSweep()).contains("Kernel events"))
    }

    @Test func oneSVGPerExperimentAndMeasurement() throws {
        let html = render(sampleSweep())
        #expect(occurrences(of: "<svg", in: html) == 4)
        #expect(occurrences(of: "</svg>", in: html) == 4)
        #expect(occurrences(of: "<section class=\"experiment\"", in: html) == 2)
        let document = try parseXML(html)
        #expect(try document.nodes(forXPath: "//*[local-name()='svg']").count == 4)
    }

    @Test func oneCirclePerFiniteValueAndANoteForTheRest() throws {
        var measurements = sampleSweep()
        measurements[0].value = .nan
        measurements[2].value = .infinity
        let html = render(measurements)
        let finite = measurements.filter(\.value.isFinite).count
        #expect(occurrences(of: "<circle", in: html) == finite)
        #expect(html.contains("2 values are not plotted because they are not finite numbers: run 101 (nan), run 102 (inf)."))
        #expect(html.contains("<td class=\"num\">nan</td>"))
        _ = try parseXML(html)
    }

    @Test func noExternalReferences() {
        let html = render(sampleSweep())
        let stripped = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!stripped.contains("http://"))
        #expect(!stripped.contains("https://"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<link"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("url("))
    }

    @Test func escapesEveryLabel() throws {
        let nasty = "<b>&\"x\""
        let measurements = [
            measurement(run: 1, experiment: "a<b", name: "t&m", value: 1, unit: "<s>", parameters: ["p": nasty, "q": "1"]),
            measurement(run: 2, experiment: "a<b", name: "t&m", value: 2, unit: "<s>", parameters: ["p": "plain", "q": "1"]),
        ]
        let html = render(measurements, title: "Title <i>&'", summary: "1 < 2 & \"3\" > 2\n\nsecond\u{1}paragraph")
        #expect(!html.contains(nasty))
        #expect(html.contains("&lt;b&gt;&amp;&quot;x&quot;"))
        #expect(html.contains("<title>Title &lt;i&gt;&amp;&#39;</title>"))
        #expect(html.contains("a&lt;b"))
        #expect(html.contains("t&amp;m (&lt;s&gt;)"))
        #expect(!html.contains("<i>"))
        #expect(html.contains("<p>second\u{FFFD}paragraph</p>"))
        _ = try parseXML(html)
    }

    @Test func categoricalValuesKeepTheirFirstSeenOrder() throws {
        let sizes = ["small", "large", "medium", "large", "small"]
        let measurements = sizes.enumerated().map { index, size in
            measurement(run: Int64(index + 1), value: Double(index), parameters: ["size": size])
        }
        let plot = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: measurements)
        #expect(plot.xLabel == "size")
        #expect(plot.xAxis == .categorical(["small", "large", "medium"]))
        #expect(plot.series.count == 1)
        #expect(plot.series[0].points.map(\.x) == [0, 1, 2, 1, 0])
        let svg = HTMLReport.svg(plot, id: "t")
        let small = try #require(svg.range(of: ">small<")), large = try #require(svg.range(of: ">large<"))
        let medium = try #require(svg.range(of: ">medium<"))
        #expect(small.lowerBound < large.lowerBound && large.lowerBound < medium.lowerBound)
    }

    @Test func numericParametersGetALinearAxis() {
        let plot = HTMLReport.plot(experiment: "fsync-latency", name: "p50_latency",
                                   measurements: sampleSweep().filter { $0.name == "p50_latency" })
        #expect(plot.xLabel == "commit")
        #expect(plot.xAxis == .numeric(ticks: [0, 5, 10, 15, 20, 25, 30]))
        #expect(plot.fixed == ["journal": "ordered", "disk": "virtio"])
        #expect(plot.yLabel == "p50_latency (ms)")
        #expect(plot.yTicks.first == 0)
        #expect(plot.yTicks.last! >= 0.8 + 0.05 * 30 + 0.07)
    }

    @Test func niceTicks() {
        #expect(PlotScale.niceTicks(0, 0.137) == [0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14])
        #expect(PlotScale.niceTicks(0, 950) == [0, 200, 400, 600, 800, 1000])
        #expect(PlotScale.niceTicks(1, 30) == [0, 5, 10, 15, 20, 25, 30])
        #expect(PlotScale.niceTicks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(PlotScale.niceTicks(-3.2, 7.1) == [-4, -2, 0, 2, 4, 6, 8])
        #expect(PlotScale.niceTicks(-0.37, 0) == [-0.4, -0.3, -0.2, -0.1, 0])
        #expect(PlotScale.niceTicks(5, 5) == [2, 3, 4, 5, 6, 7, 8])
        #expect(PlotScale.niceTicks(0, 0).contains(0))
        for (low, high) in [(0.0, 0.137), (0, 950), (12.3, 987.6), (-1e-3, 2e-3), (1e9, 3.7e9), (0, 7)] {
            let ticks = PlotScale.niceTicks(low, high)
            #expect(ticks.count >= 2 && ticks.count <= 8)
            #expect(ticks.first! <= low && ticks.last! >= high)
        }
        #expect(PlotScale.tickLabel(0.14, step: 0.02) == "0.14")
        #expect(PlotScale.tickLabel(0.1, step: 0.02) == "0.10")
        #expect(PlotScale.tickLabel(1000, step: 200) == "1000")
        #expect(PlotScale.tickLabel(-0.0, step: 0.5) == "0.0")
    }

    @Test func medianLineJoinsTheMedianOfEachX() throws {
        let values: [(commit: String, value: Double)] = [("1", 1), ("1", 3), ("5", 10), ("5", 2), ("5", 4), ("30", 7)]
        let measurements = values.enumerated().map { index, pair in
            measurement(run: Int64(index + 1), value: pair.value, parameters: ["commit": pair.commit])
        }
        let plot = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: measurements)
        #expect(plot.series[0].medians == [.init(x: 1, y: 2), .init(x: 5, y: 4), .init(x: 30, y: 7)])
        let svg = HTMLReport.svg(plot, id: "m")
        #expect(occurrences(of: "<polyline", in: svg) == 1)
        let points = try #require(svg.firstMatch(of: /<polyline points="([^"]*)"/)?.1)
        let pairs = points.split(separator: " ")
        #expect(pairs.count == 3)
        let xs = pairs.compactMap { Double($0.split(separator: ",")[0]) }
        #expect(xs == xs.sorted())
        #expect(PlotScale.median([3, 1, 2]) == 2)
        #expect(PlotScale.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func severalVariedParametersMakeSeriesWithALegend() throws {
        var measurements: [RunMeasurement] = []
        var run: Int64 = 0
        for cache in ["on", "off"] {
            for commit in ["1", "5"] {
                run += 1
                measurements.append(measurement(run: run, value: Double(run), parameters: ["commit": commit, "cache": cache]))
            }
        }
        let plot = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: measurements)
        // "cache" sorts first, so it is x; commit splits the series.
        #expect(plot.xLabel == "cache")
        #expect(plot.xAxis == .categorical(["on", "off"]))
        #expect(plot.series.map(\.label) == ["commit=1", "commit=5"])
        let html = render(measurements)
        #expect(html.contains("<ul class=\"legend\">"))
        #expect(occurrences(of: "class=\"swatch\"", in: html) == 2)
        #expect(occurrences(of: "<circle", in: html) == 4)
        _ = try parseXML(html)
    }

    @Test func withNothingVariedXIsTheRunIndex() {
        let measurements = (1...3).map { measurement(run: Int64(10 - $0), value: Double($0), parameters: ["a": "1"], repetition: $0) }
        let plot = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: measurements)
        #expect(plot.xLabel == HTMLReport.Plot.runIndexLabel)
        #expect(plot.xAxis == .categorical(["1", "2", "3"]))
        // Run 9 comes first in the input but is the latest run: x follows run order.
        #expect(plot.series[0].points.map(\.x) == [2, 1, 0])
    }

    @Test func noMeasurementsSaysSo() throws {
        let html = render([])
        #expect(html.contains("No measurements were recorded"))
        #expect(!html.contains("<svg"))
        #expect(!html.contains("<table"))
        _ = try parseXML(html)
    }

    @Test func singlePointAndEqualValues() throws {
        let one = render([measurement(run: 1, value: 0.5, parameters: [:])])
        #expect(occurrences(of: "<circle", in: one) == 1)
        _ = try parseXML(one)

        let equal = (1...3).map { measurement(run: Int64($0), value: 4, parameters: ["n": String($0)]) }
        let plot = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: equal)
        #expect(plot.yTicks.first == 0 && plot.yTicks.last! >= 4)
        let zeros = (1...3).map { measurement(run: Int64($0), value: 0, parameters: ["n": String($0)]) }
        let flat = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: zeros)
        #expect(flat.yTicks.first == 0 && flat.yTicks.last! > 0)
        let html = render(zeros)
        #expect(!html.contains("nan\""))
        _ = try parseXML(html)
    }

    @Test func negativeValuesExtendTheAxisBelowZero() throws {
        let mixed = [-2.5, 1.0, 3.2].enumerated().map { measurement(run: Int64($0 + 1), value: $1, parameters: ["n": String($0)]) }
        let plot = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: mixed)
        #expect(plot.yTicks.first! <= -2.5 && plot.yTicks.last! >= 3.2)
        #expect(plot.yTicks.contains(0))
        let negative = [-2.5, -1.0].enumerated().map { measurement(run: Int64($0 + 1), value: $1, parameters: ["n": String($0)]) }
        let below = HTMLReport.plot(experiment: "boot", name: "boot_time", measurements: negative)
        #expect(below.yTicks.last == 0 && below.yTicks.first! <= -2.5)
        _ = try parseXML(render(mixed))
    }

    @Test func onlyNonFiniteValuesStillDrawAnAxis() throws {
        let html = render([measurement(run: 1, value: .nan, parameters: [:])])
        #expect(occurrences(of: "<svg", in: html) == 1)
        #expect(occurrences(of: "<circle", in: html) == 0)
        #expect(html.contains("no finite values to plot"))
        _ = try parseXML(html)
    }

    @Test func rawTableHasTheResultsTableColumns() throws {
        let measurements = sampleSweep()
        let html = render(measurements)
        let document = try parseXML(html)
        let headers = try document.nodes(forXPath: "//table/thead/tr/th").map { $0.stringValue ?? "" }
        #expect(headers == ResultsTable(measurements).displayHeaders)
        #expect(try document.nodes(forXPath: "//table/tbody/tr").count == 12)
        #expect(html.contains("Same in every run: <code>disk=virtio</code> <code>journal=ordered</code>"))
    }

    /// Writes the sample report when VMLAB_SAMPLE_REPORT names a path (for looking at it).
    @Test func writesTheSampleReportOnRequest() throws {
        guard let path = ProcessInfo.processInfo.environment["VMLAB_SAMPLE_REPORT"] else { return }
        let report = HTMLReport(
            title: "ext4 commit interval: latency versus data at risk",
            summary: "Sweeps the ext4 commit= mount option (1, 5, 30 s) with two repetitions each.\n\n"
                + "fsync-latency measures fsync latency under a small-write load; write-throughput measures "
                + "sequential write speed and how much acknowledged data a power cut loses.",
            labName: "ext4-commit", generatedAt: Date(timeIntervalSince1970: 1_735_732_800),
            measurements: sampleSweep())
        try report.render().write(toFile: path, atomically: true, encoding: .utf8)
    }
}
