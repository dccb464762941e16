import Foundation
@testable import LabModel
import Testing

/// Guards which parameter values a saved baseline is keyed on: exactly those setup reads.
@Suite("SetupInputs")
struct SetupInputsTests {
    static let yaml = """
    title: t
    summary: s
    image: base
    parameters:
      size: {type: int, min: 1, max: 100, default: 10}
      mem: {type: int, min: 64, max: 1024, default: 256, unit: MiB}
      seed: {type: int, min: 1, max: 9, default: 3, per-student: true}
      rate: {type: int, min: 1, max: 9, default: 5}
    vms:
      box: {memory: 512M}
    setup:
      - exec: {vm: box, command: "head -c ${size}k /dev/urandom > /root/data"}
      - set-memory: {vm: box, memory: "${mem}"}
    experiments:
      e:
        steps:
          - exec: {vm: box, command: "echo ${rate} ${seed}"}
    """

    @Test func onlyTheValuesSetupReadsCount() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let lab = try LabSpec.load(try course.writeLab("x", Self.yaml), imagesDirectory: course.images)
        let values = ["size": "10", "mem": "256", "seed": "7", "rate": "5"]
        #expect(try lab.setupInputs(values) == ["size": "10", "mem": "256"])
        #expect(try lab.setupInputs(values.merging(["seed": "2", "rate": "9"]) { $1 })
                == lab.setupInputs(values), "experiment-only and per-student values outside setup do not split the cache")
    }
}
