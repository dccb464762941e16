import Foundation
import VMLabSupport
import Yams

/// Reads a YAML file a person wrote into typed values, collecting every problem with its
/// file, line and field instead of stopping at the first, and rejecting unknown keys
/// (a typo in a key must not silently fall back to a default).
public final class SpecReader {
    public let file: String
    public private(set) var errors: [SpecError] = []

    init(file: String) { self.file = file }

    /// Parses `text`; a YAML syntax error becomes a located `SpecError`.
    package static func parse(_ text: String, file: String) throws -> (SpecReader, MappingReader) {
        let reader = SpecReader(file: file)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SpecErrors(errors: [reader.syntaxError(error)])
        }
        guard let node, node.mapping != nil else {
            throw SpecErrors(errors: [SpecError(file: file, line: node?.mark?.line ?? 1, field: "",
                                                message: "expected a mapping of keys to values at the top level")])
        }
        return (reader, MappingReader(reader: reader, node: node, path: ""))
    }

    /// Files people write are small: 1 MiB unless the caller says otherwise.
    package static let defaultMaxBytes = 1 << 20

    /// Reads and parses a file from disk: a regular file of at most `maxBytes` of UTF-8.
    package static func load(_ url: URL, maxBytes: Int = defaultMaxBytes) throws -> (SpecReader, MappingReader) {
        try parse(try BoundedFile.text(url, maxBytes: maxBytes), file: url.path)
    }

    package func fail(_ node: Node?, _ field: String, _ message: String) {
        errors.append(SpecError(file: file, line: node?.mark?.line, field: field, message: message))
    }

    /// Throws every collected problem at once, if there were any.
    package func check() throws {
        if !errors.isEmpty { throw SpecErrors(errors: errors) }
    }

    private func syntaxError(_ error: YamlError) -> SpecError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return SpecError(file: file, line: mark.line, field: "", message: "YAML syntax: \(what)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return SpecError(file: file, line: context.mark.line, field: "",
                             message: "the mapping starting here has the key \(keys) more than once; keep one")
        default:
            return SpecError(file: file, line: nil, field: "", message: "YAML syntax: \(error)")
        }
    }
}

/// One YAML mapping being read; `finish()` reports the keys nobody asked for.
public final class MappingReader {
    let reader: SpecReader
    let node: Node
    /// The dotted field path of this mapping (`vms.web.disks[0]`), for messages.
    package let path: String
    /// The key this mapping is the value of, when there is one: a block mapping starts on the
    /// line after its key, and "is required" reads best on the key's line.
    let keyNode: Node?
    private var seen: Set<String> = []

    init(reader: SpecReader, node: Node, path: String, keyNode: Node? = nil) {
        self.reader = reader
        self.node = node
        self.path = path
        self.keyNode = keyNode
    }

    var line: Int? { (keyNode ?? node).mark?.line }
    package var keys: [String] { node.mapping?.keys.compactMap(\.string) ?? [] }

    package func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    package func value(_ key: String) -> Node? {
        seen.insert(key)
        return node.mapping?[key]
    }

    /// The key node itself (for locating messages about the key rather than its value).
    package func keyNodeFor(_ key: String) -> Node? {
        node.mapping?.first { $0.key.string == key }?.key
    }

    /// Reports a problem with this mapping as a whole, on its key's line.
    package func failHere(_ field: String, _ message: String) {
        reader.fail(keyNode ?? node, field, message)
    }

    package func fail(_ key: String, _ message: String) {
        reader.fail(node.mapping?[key] ?? node, field(key), message)
    }

    package func string(_ key: String, required: Bool = false) -> String? {
        guard let v = value(key) else {
            if required { failHere(field(key), "is required") }
            return nil
        }
        guard case .scalar(let s) = v else {
            reader.fail(v, field(key), "expected a text value")
            return nil
        }
        if required && s.string.trimmingCharacters(in: .whitespaces).isEmpty {
            reader.fail(keyNodeFor(key) ?? node, field(key), "is required (it is empty)")
            return nil
        }
        return s.string
    }

    package func int(_ key: String, required: Bool = false, range: ClosedRange<Int>? = nil) -> Int? {
        guard let text = string(key, required: required) else { return nil }
        guard let n = Int(text) else {
            fail(key, "expected a whole number, got '\(text)'")
            return nil
        }
        if let range, !range.contains(n) {
            fail(key, "\(n) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return n
    }

    package func bool(_ key: String) -> Bool? {
        guard let text = string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(key, "expected true or false, got '\(text)'")
            return nil
        }
    }

    /// A size such as `512M`, `2G` or `1024K`, in bytes.
    func size(_ key: String, required: Bool = false) -> UInt64? {
        guard let text = string(key, required: required) else { return nil }
        guard let bytes = parseSize(text) else {
            fail(key, "expected a size like 512M or 2G, got '\(text)'")
            return nil
        }
        return bytes
    }

    package func stringList(_ key: String) -> [String] {
        guard let v = value(key) else { return [] }
        guard case .sequence(let seq) = v else {
            reader.fail(v, field(key), "expected a list")
            return []
        }
        return seq.enumerated().compactMap { index, item in
            guard case .scalar(let s) = item else {
                reader.fail(item, "\(field(key))[\(index)]", "expected a text value")
                return nil
            }
            return s.string
        }
    }

    package func mapping(_ key: String, required: Bool = false) -> MappingReader? {
        guard let v = value(key) else {
            if required { failHere(field(key), "is required") }
            return nil
        }
        guard v.mapping != nil else {
            reader.fail(v, field(key), "expected a mapping")
            return nil
        }
        return MappingReader(reader: reader, node: v, path: field(key), keyNode: keyNodeFor(key))
    }

    /// The entries of a mapping whose keys are names (`vms: {web: {...}}`), in file order.
    func namedMappings(_ key: String) -> [(name: String, reader: MappingReader)] {
        guard let m = mapping(key) else { return [] }
        m.seen.formUnion(m.keys)
        return m.node.mapping!.compactMap { k, v in
            guard let name = k.string else { return nil }
            guard v.mapping != nil else {
                reader.fail(v, m.field(name), "expected a mapping (write {} when there is nothing to set)")
                return nil
            }
            return (name, MappingReader(reader: reader, node: v, path: m.field(name), keyNode: k))
        }
    }

    /// The string-to-string entries of a mapping (`links: {/usr/bin/awk: mawk}`).
    package func stringMap(_ key: String) -> [(key: String, value: String)] {
        guard let m = mapping(key) else { return [] }
        return m.keys.compactMap { k in
            guard let v = m.string(k) else { return nil }
            return (k, v)
        }
    }

    /// A number such as `30` or `1.5`.
    package func number(_ key: String, required: Bool = false, range: ClosedRange<Double>? = nil) -> Double? {
        guard let text = string(key, required: required) else { return nil }
        guard let n = Double(text.trimmingCharacters(in: .whitespaces)), n.isFinite else {
            fail(key, "expected a number, got '\(text)'")
            return nil
        }
        if let range, !range.contains(n) {
            fail(key, "\(text) is out of range \(formatNumber(range.lowerBound))...\(formatNumber(range.upperBound))")
            return nil
        }
        return n
    }

    /// The items of a list, whatever their shape (for lists of steps); nil when absent.
    package func list(_ key: String, required: Bool = false) -> [Node]? {
        guard let v = value(key) else {
            if required { failHere(field(key), "is required") }
            return nil
        }
        guard case .sequence(let seq) = v else {
            reader.fail(v, field(key), "expected a list")
            return nil
        }
        return Array(seq)
    }

    /// The items of a list of mappings (`disks: [{name: data, size: 1G}]`), each read on its own
    /// with the field path `key[index]`.
    package func mappingList(_ key: String) -> [MappingReader] {
        guard let items = list(key) else { return [] }
        return items.enumerated().compactMap { index, item in
            guard item.mapping != nil else {
                reader.fail(item, "\(field(key))[\(index)]", "expected a mapping")
                return nil
            }
            return MappingReader(reader: reader, node: item, path: "\(field(key))[\(index)]")
        }
    }

    /// Reports every key that was present but never read.
    package func finish(allowed extra: Set<String> = []) {
        for key in keys where !seen.contains(key) && !extra.contains(key) {
            let known = seen.union(extra).sorted().joined(separator: ", ")
            reader.fail(keyNodeFor(key) ?? node, field(key), "unknown key (known keys here: \(known))")
        }
    }
}

/// Parses `512M`, `2G`, `1024K`, `1T` or a plain byte count.
public func parseSize(_ text: String) -> UInt64? {
    let t = text.trimmingCharacters(in: .whitespaces).uppercased()
    let units: [(String, UInt64)] = [("TIB", 1 << 40), ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10),
                                     ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1)]
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        guard let n = UInt64(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n > 0 else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }
    return UInt64(t).flatMap { $0 > 0 ? $0 : nil }
}

