import Foundation
import VMLabSupport
import Yams

/// A kind of step a lab file can use (`exec`, `crash`, `set-memory`, ...). Each kind is one
/// type in one file holding everything about it: its YAML form, its checks, its `${param}`
/// substitution, what it does to a running lab, and its schema fragment and documentation.
/// Registering a kind is one line in `Step.kinds`.
public protocol StepKind: Sendable {
    /// The key that names the kind in lab.yaml.
    static var key: String { get }
    /// How the kind is written, for the reference table (`{vm, command, timeout: 300}`).
    static var form: String { get }
    /// What the kind does, in one line of the reference.
    static var summary: String { get }
    /// The JSON schema of the value under the key.
    static var schema: JSONValue { get }

    /// Reads the value under the key; every problem goes to `context` with its file, line
    /// and field. Nil when the step cannot be used.
    static func read(_ value: Node, field: String, context: StepContext) -> Self?

    /// Checks the values that may hold `${param}`. The loader runs it on the step
    /// substituted with the parameters' defaults; running the step evaluates the same
    /// values with the same code, so load time and run time never disagree.
    func check() throws(StepProblem)

    /// The step with every `${name}` in its text replaced, nested steps included.
    func substituted(_ values: [String: String]) throws -> Self

    /// Does the work on a running lab; returns output worth keeping in the event log.
    func run(in lab: any LabRuntime) async throws -> String?

    /// The VMs the step itself touches (nested steps report their own).
    var vms: [String] { get }
    /// Steps run inside this one (parallel groups, timed steps).
    var nested: [Step] { get }
    /// One line saying what the step does, for the event log.
    var detail: String { get }
}

extension StepKind {
    public func check() throws(StepProblem) {}
    public var nested: [Step] { [] }

    func isEqual(to other: any StepKind) -> Bool where Self: Equatable {
        (other as? Self) == self
    }
}

/// A value of a step that does not hold: which field, and why.
public struct StepProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The step's field (`memory`), or nil for the step's own value (`sleep: 0`).
    public var field: String?
    public var message: String

    public init(_ field: String?, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

/// One step of a setup or an experiment: a value of one of the registered kinds.
public struct Step: Sendable, Equatable, CustomStringConvertible {
    public let body: any StepKind & Equatable

    public init(_ body: some StepKind & Equatable) { self.body = body }

    public static func == (a: Step, b: Step) -> Bool { a.body.isEqual(to: b.body) }

    /// The kind as written in lab.yaml.
    public var kind: String { type(of: body).key }

    /// Every VM the step and its nested steps touch (for validation).
    public var vms: [String] { body.vms + body.nested.flatMap(\.vms) }

    public var detail: String { body.detail }
    public var description: String { "\(kind): \(detail)" }

    /// The step with every `${name}` replaced, done just before it runs so one lab serves
    /// every parameter combination.
    public func substituted(_ values: [String: String]) throws -> Step {
        try Step(erasing: body.substituted(values))
    }

    private init(erasing body: any StepKind & Equatable) { self.body = body }

    /// The body as a given kind, for code that looks inside (measure names, tests).
    public func `as`<K: StepKind>(_ kind: K.Type) -> K? { body as? K }
}

extension Step {
    /// The kind registered under `key`.
    public static func kind(named key: String) -> (any (StepKind & Equatable).Type)? {
        kinds.first { $0.key == key }
    }

    /// The keys of every registered kind, in reference order.
    public static var kindNames: [String] { kinds.map { $0.key } }
}
