import Foundation
import VMLabSupport
import Yams

/// `{name, kernel-events: VM}`: how many kernel oopses, BUGs, panics, soft lockups, hung
/// tasks and KASAN reports the VM's serial console showed during the run. The console is
/// read from the host, so the count holds even after the guest panicked. The first event's
/// trace is kept as the run's artifact `kernel-events-VM.txt`, and shown in the event log,
/// the report and a replay's feedback.
public struct KernelEventsMeasure: MeasureSource, Equatable {
    public static let selector: String? = "kernel-events"
    public static let form = "`{name, kernel-events: VM, unit: events}`"
    public static let summary = "counts the Oops, BUG, panic, soft-lockup, hung-task and KASAN reports on the VM's serial "
        + "console during the run; the first one's trimmed trace is kept as artifact `kernel-events-VM.txt`"
    public static let defaultUnit: String? = "events"
    public static let schema: JSONValue = Schema.object(required: ["name", "kernel-events"], [
        "name": Schema.ref("measureName"),
        "unit": ["type": "string", "default": "events"],
        "kernel-events": Schema.ref("vmRef"),
    ], description: "Kernel oopses, panics, lockups and KASAN reports on a VM's console during the run.")

    /// The most console output read: the end of the run's log.
    public static let maxConsoleBytes = 4 << 20

    public var vm: String

    public static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> KernelEventsMeasure? {
        guard let name = m.string("kernel-events", required: true) else { return nil }
        guard context.checkVM(name, m.value("kernel-events"), m.field("kernel-events")) else { return nil }
        return KernelEventsMeasure(vm: name)
    }

    public func substituted(_ values: [String: String]) throws -> KernelEventsMeasure {
        KernelEventsMeasure(vm: try substitute(vm, values))
    }

    public func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?) {
        let events = KernelEvents.find(in: try lab.consoleOutput(of: vm, maxBytes: Self.maxConsoleBytes))
        guard let trace = events.trace else { return (0, nil) }
        _ = try lab.keepArtifact(Self.artifactName(vm: vm), Data(trace.utf8))
        return (Double(events.count), trace)
    }

    /// The run artifact holding the first event's trace.
    public static func artifactName(vm: String) -> String { "kernel-events-\(vm).txt" }

    public var vms: [String] { [vm] }
}
