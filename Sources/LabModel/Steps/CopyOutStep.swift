import Foundation
import VMLabSupport
import Yams

/// `copy-out: {vm, from, name}`: a guest file into the run's artifacts.
public struct CopyOutStep: StepKind, Equatable {
    public static let key = "copy-out"
    public static let form = "`{vm, from, name}`"
    public static let summary = "absolute guest path to the run's artifacts as `name` (a plain file name: 1 to 64 characters, "
        + "no `/`, `\\` or `..`, not starting with `.`)"
    public static let schema = Schema.object(required: ["vm", "from", "name"], [
        "vm": Schema.ref("vmRef"),
        "from": Schema.ref("guestPath"),
        "name": Schema.ref("fileName", "Artifact file name."),
    ])

    public var vm: String
    public var from: String
    public var name: String

    public static func read(_ value: Node, field: String, context: StepContext) -> CopyOutStep? {
        guard let m = context.fields(value, field, expected: "a mapping of the step's fields") else { return nil }
        defer { m.finish() }
        let vm = context.vm(m)
        let from = context.requiredText(m, "from")
        let name = context.requiredText(m, "name")
        guard let vm, !from.isEmpty, !name.isEmpty else { return nil }
        return CopyOutStep(vm: vm, from: from, name: name)
    }

    public func check() throws(StepProblem) {
        try GuestPath.check(from, field: "from")
        if let problem = ArtifactName.problem(name) { throw StepProblem("name", problem) }
    }

    public func substituted(_ values: [String: String]) throws -> CopyOutStep {
        CopyOutStep(vm: try substitute(vm, values), from: try substitute(from, values), name: try substitute(name, values))
    }

    public func run(in lab: any LabRuntime) async throws -> String? {
        try check()
        let data = try await lab.vm(vm).readFile(from)
        return "\(data.count) bytes -> \(try lab.keepArtifact(name, data))"
    }

    public var vms: [String] { [vm] }
    public var detail: String { "\(vm): copy \(from) -> artifact \(name)" }
}

extension Step {
    public static func copyOut(vm: String, from: String, name: String) -> Step { Step(CopyOutStep(vm: vm, from: from, name: name)) }
}
