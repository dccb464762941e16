import Foundation
import VMLabSupport
import Yams

/// `{name, cpu-time: VM, during: STEP}`: the vCPU time the host gave a VM while a step ran:
/// contention seen from the host, which works under TCG where guests report no steal time.
public struct CPUTimeMeasure: MeasureSource, Equatable {
    public static let selector: String? = "cpu-time"
    public static let form = "`{name, cpu-time: VM, during: STEP, unit: s}`"
    public static let summary = "the host-side vCPU time (seconds) the VM got while the step ran"
    public static let defaultUnit: String? = "s"
    public static let schema: JSONValue = Schema.object(required: ["name", "cpu-time", "during"], [
        "name": Schema.ref("measureName"),
        "unit": ["type": "string", "default": "s"],
        "cpu-time": Schema.ref("vmRef", "The VM whose vCPU time is counted."),
        "during": Schema.ref("step"),
    ], description: "Host-side vCPU time of a VM while a step runs, in seconds.")

    public var vm: String
    public var during: Step

    public static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> CPUTimeMeasure? {
        guard let vmNode = m.value("cpu-time") else { return nil }
        let vm = context.scalarVM(vmNode, field: m.field("cpu-time"), example: "cpu-time: box")
        guard let duringNode = m.value("during") else {
            m.failHere(m.path, "cpu-time needs `during:` (the step while which the VM's CPU time is counted)")
            return nil
        }
        let step = context.step(duringNode, field: m.field("during"))
        guard let vm, let step else { return nil }
        return CPUTimeMeasure(vm: vm, during: step)
    }

    public func substituted(_ values: [String: String]) throws -> CPUTimeMeasure {
        CPUTimeMeasure(vm: try substitute(vm, values), during: try during.substituted(values))
    }

    public func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?) {
        let target = try lab.vm(vm)
        let before = try await target.vcpuTimeNanoseconds()
        try await lab.execute(during)
        let after = try await target.vcpuTimeNanoseconds()
        return (Double(after &- before) / 1e9, nil)
    }

    public var vms: [String] { [vm] }
    public var nested: [Step] { [during] }
}

extension MeasureSource where Self == CPUTimeMeasure {
    public static func cpuTime(vm: String, during: Step) -> CPUTimeMeasure { CPUTimeMeasure(vm: vm, during: during) }
}
