import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
import TestSupport
@testable import VMLabSupport

/// solution.yaml: runs, answers, and the artifacts a perfect student hands in, read from
/// files next to it (net-attack's ruleset).
struct GradingReferenceSolutionTests {
    @Test func readsArtifactsNextToTheSolution() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("solution/ruleset.nft", "table inet filter {}\n")
        let url = try dir.write("solution/solution.yaml", """
            artifacts:
              ruleset.nft: ruleset.nft
            runs:
              - experiment: flood
                set: {firewall: "on"}
            answers:
              port: "= service_port"
            """)
        let solution = try ReferenceSolution.load(url)
        #expect(solution.artifacts == ["ruleset.nft": Data("table inet filter {}\n".utf8)])
        #expect(solution.runs.map(\.request.settings) == [[ParameterSetting("firewall", "on")]])
    }

    @Test func variantsCarryTheirFilesAndExpectations() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("solution/vmlab.c", "good\n")
        try dir.write("solution/broken/vmlab.c", "bad\n")
        let url = try dir.write("solution/solution.yaml", """
            artifacts: {vmlab.c: vmlab.c}
            runs:
              - experiment: test
            variants:
              - name: null-dereference
                artifacts: {vmlab.c: broken/vmlab.c}
                min-percent: 20
                max-percent: 59
                feedback: NULL pointer
            """)
        let solution = try ReferenceSolution.load(url)
        #expect(solution.variants.count == 1)
        let variant = try #require(solution.variants.first)
        #expect(variant.name == "null-dereference" && variant.feedback == "NULL pointer")
        #expect(variant.artifacts == ["vmlab.c": Data("bad\n".utf8)])
        #expect(variant.minPercent == 20 && variant.maxPercent == 59)

        let bad = try dir.write("solution/bad.yaml", """
            runs:
              - experiment: test
            variants:
              - name: upside-down
                artifacts: {vmlab.c: missing.c}
                min-percent: 60
                max-percent: 10
            """)
        let error = try #require(throws: SpecErrors.self) { _ = try ReferenceSolution.load(bad) }
        #expect(error.description.contains("missing.c") && error.description.contains("max-percent"))
    }

    @Test func noArtifactsByDefault() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let url = try dir.write("solution.yaml", "runs:\n  - experiment: scan\n")
        #expect(try ReferenceSolution.load(url).artifacts.isEmpty)
    }

    @Test func aMissingOrUnsafeArtifactIsReported() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let url = try dir.write("solution.yaml", """
            artifacts:
              ruleset.nft: missing.nft
              ../x: ruleset.nft
            runs:
              - experiment: scan
            """)
        let error = try #require(throws: (any Error).self) { try ReferenceSolution.load(url) }
        #expect("\(error)".contains("solution.yaml:2: artifacts.ruleset.nft: cannot read"))
        #expect("\(error)".contains("solution.yaml:3: artifacts.../x: artifact name '../x' contains a path separator"))
    }
}
