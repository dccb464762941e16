import Foundation
import VMLabSupport

/// A JSON value whose objects keep their keys in the order written, so a generated
/// document (the lab schema) comes out byte for byte the same every time.
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    /// The value of `key` in an object (nil for other values).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// An object with `extra` members appended (or replacing members of the same key).
    public func merging(_ extra: JSONValue) -> JSONValue {
        guard case .object(var members) = self, case .object(let more) = extra else { return self }
        for m in more {
            if let i = members.firstIndex(where: { $0.key == m.key }) { members[i] = m } else { members.append(m) }
        }
        return .object(members)
    }

    /// Pretty-printed with two-space indentation and a final newline.
    public func rendered() -> String {
        var out = ""
        write(to: &out, indent: "")
        return out + "\n"
    }

    private func write(to out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .string(let s): out += Self.quoted(s)
        case .int(let n): out += String(n)
        case .number(let n): out += n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.write(to: &out, indent: inner)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, m) in members.enumerated() {
                out += inner + Self.quoted(m.key) + ": "
                m.value.write(to: &out, indent: inner)
                out += i == members.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        }
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { Member(key: $0.0, value: $0.1) })
    }
}

/// Building blocks of the lab schema that step kinds share.
public enum Schema {
    /// `{"$ref": "#/$defs/NAME"}`, with a description when given.
    public static func ref(_ definition: String, _ description: String? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [.init(key: "$ref", value: .string("#/$defs/\(definition)"))]
        if let description { members.append(.init(key: "description", value: .string(description))) }
        return .object(members)
    }

    /// A closed object: only `properties`, of which `required` must be present.
    public static func object(required: [String], _ properties: KeyValuePairs<String, JSONValue>,
                              description: String? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [.init(key: "type", value: "object")]
        if let description { members.append(.init(key: "description", value: .string(description))) }
        members.append(.init(key: "additionalProperties", value: false))
        if !required.isEmpty { members.append(.init(key: "required", value: .array(required.map(JSONValue.string)))) }
        members.append(.init(key: "properties", value: .object(properties.map { .init(key: $0.key, value: $0.value) })))
        return .object(members)
    }

    /// `value` with a description added.
    public static func described(_ value: JSONValue, _ description: String) -> JSONValue {
        value.merging(["description": .string(description)])
    }
}
