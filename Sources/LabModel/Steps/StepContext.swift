import Foundation
import VMLabSupport
import Yams

/// What a step kind needs while it reads itself from lab.yaml: the lab's declared VMs and
/// parameters, the measures taken so far in the experiment being read, and helpers that
/// read fields and report problems with file, line and field.
public final class StepContext {
    let reader: SpecReader
    /// The folder of lab.yaml (copy-in sources are relative to it).
    public let labDirectory: URL
    /// Every parameter name declared, valid or not, so one bad parameter does not also
    /// make every `${name}` using it an error.
    public let parameterNames: [String]
    /// Parameter values used for load-time checks, where a run's values are not known yet.
    public let defaults: [String: String]
    public let vms: [VMSpec]
    private let vmsByName: [String: VMSpec]
    /// Measure names seen in the setup or experiment being read.
    public internal(set) var measureNames: [String] = []

    init(reader: SpecReader, labDirectory: URL, parameterNames: [String], defaults: [String: String], vms: [VMSpec]) {
        self.reader = reader
        self.labDirectory = labDirectory
        self.parameterNames = parameterNames
        self.defaults = defaults
        self.vms = vms
        self.vmsByName = Dictionary(vms.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: steps

    public func steps(_ items: [Node], path: String) -> [Step] {
        items.enumerated().compactMap { index, item in step(item, field: "\(path)[\(index)]") }
    }

    /// One list item: a mapping with exactly one key, the step kind. Once read, the step's
    /// checks run with the parameters' defaults.
    public func step(_ node: Node, field: String) -> Step? {
        let kinds = Step.kindNames.joined(separator: ", ")
        guard let mapping = node.mapping else {
            reader.fail(node, field, "expected a step: a mapping with one key, the step kind (\(kinds))")
            return nil
        }
        guard mapping.count == 1, let (keyNode, value) = mapping.first.map({ ($0.key, $0.value) }) else {
            if mapping.isEmpty {
                reader.fail(node, field, "empty step; write one of: \(kinds)")
            } else {
                let keys = mapping.keys.compactMap(\.string).joined(separator: ", ")
                reader.fail(node, field, "a step has exactly one key, its kind, but this one has \(keys) "
                            + "(start each step with its own '-')")
            }
            return nil
        }
        guard let key = keyNode.string, let kind = Step.kind(named: key) else {
            reader.fail(keyNode, field, "unknown step kind '\(keyNode.string ?? "")' (known kinds: \(kinds))")
            return nil
        }
        let f = "\(field).\(key)"
        guard let body = kind.read(value, field: f, context: self) else { return nil }
        checkWithDefaults(body, value, f)
        return Step(body)
    }

    /// Runs a step's checks on it substituted with the parameters' defaults.
    private func checkWithDefaults(_ body: some StepKind & Equatable, _ value: Node, _ field: String) {
        guard let substituted = try? body.substituted(defaults) else { return }
        do {
            try substituted.check()
        } catch {
            let node = error.field.flatMap { value.mapping?[$0] } ?? value
            let location = error.field.map { "\(field).\($0)" } ?? field
            let note = substituted == body ? "" : " (with the parameters' defaults)"
            reader.fail(node, location, error.message + note)
        }
    }

    // MARK: fields

    /// A step's value read as a mapping of fields.
    public func fields(_ value: Node, _ field: String, expected: String) -> MappingReader? {
        guard value.mapping != nil else {
            reader.fail(value, field, "expected \(expected)")
            return nil
        }
        return MappingReader(reader: reader, node: value, path: field)
    }

    /// `crash: box`: the value is the VM's name.
    public func scalarVM(_ value: Node, field: String, example: String) -> String? {
        guard case .scalar(let s) = value, !s.string.isEmpty else {
            reader.fail(value, field, "expected a VM name, like `\(example)`")
            return nil
        }
        return checkVM(s.string, value, field) ? s.string : nil
    }

    /// A scalar value (`sleep: 2`) whose `${name}` references must be declared.
    public func scalarText(_ value: Node, field: String, expected: String) -> String? {
        guard case .scalar(let s) = value, !s.string.isEmpty else {
            reader.fail(value, field, "expected \(expected)")
            return nil
        }
        checkReferences(s.string, value, field)
        return s.string
    }

    /// The required `vm` field, which must name a declared VM.
    public func vm(_ m: MappingReader) -> String? {
        guard let name = m.string("vm", required: true) else { return nil }
        return checkVM(name, m.value("vm"), m.field("vm")) ? name : nil
    }

    /// The VM spec of a declared VM.
    public func vmSpec(_ name: String) -> VMSpec? { vmsByName[name] }

    func checkVM(_ name: String, _ node: Node?, _ field: String) -> Bool {
        if vmsByName[name] != nil { return true }
        let known = vms.map(\.name).joined(separator: ", ")
        reader.fail(node, field, "unknown VM '\(name)' " + (known.isEmpty ? "(this lab declares no VMs)" : "(VMs: \(known))"))
        return false
    }

    /// A required, non-empty text field whose `${name}` references must be declared parameters.
    public func requiredText(_ m: MappingReader, _ key: String, references: Bool = true) -> String {
        guard let text = m.string(key, required: true) else { return "" }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            m.fail(key, "is empty")
            return ""
        }
        if references { checkReferences(text, m.value(key), m.field(key)) }
        return text
    }

    /// An optional text field with `${name}` references.
    public func optionalText(_ m: MappingReader, _ key: String) -> String? {
        guard let text = m.string(key) else { return nil }
        checkReferences(text, m.value(key), m.field(key))
        return text
    }

    /// Every `${name}` in `text` must be a declared parameter.
    public func checkReferences(_ text: String, _ node: Node?, _ field: String) {
        guard text.contains("$") else { return }
        do {
            for case .reference(let name) in try templatePieces(text) where !parameterNames.contains(name) {
                let known = parameterNames.joined(separator: ", ")
                reader.fail(node, field, "unknown parameter '${\(name)}' "
                            + (known.isEmpty ? "(this lab declares no parameters)" : "(parameters: \(known))"))
            }
        } catch let error as VMLabError {
            reader.fail(node, field, error.message)
        } catch {
            reader.fail(node, field, "\(error)")
        }
    }

    /// Reports a problem at a node.
    public func fail(_ node: Node?, _ field: String, _ message: String) {
        reader.fail(node, field, message)
    }
}
