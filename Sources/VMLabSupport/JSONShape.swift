import Foundation

/// Limits on a JSON document's shape, checked in one pass over its bytes before anything
/// decodes it. JSONDecoder builds the whole document first and checks sizes after (a 60 MiB
/// object of tiny members took a minute and gigabytes), and it silently keeps one of two
/// equal keys where other readers keep the other: here every container's size, every
/// string's length and every key's uniqueness is checked as the bytes go by.
package struct JSONShape: Sendable {
    /// A container's path: keys joined with `.`, `[]` for array elements and `*` for the
    /// members of a `map` (`runs[].parameters.*`); the root is `""`.
    package typealias Path = String

    /// Deepest nesting of objects and arrays (the root is 1).
    package var maxDepth = 8
    /// Members or elements a container may hold, by path; `defaultCount` otherwise.
    package var counts: [Path: Int] = [:]
    package var defaultCount = 64
    /// Bytes a string value may have as written (escapes included), by path.
    package var strings: [Path: Int] = [:]
    package var defaultString = 1024
    package var maxKeyBytes = 256
    package var maxNumberBytes = 64
    /// Objects whose keys are data rather than field names: their members share one path.
    package var maps: Set<Path> = []

    package init() {}

    /// Why a document was refused: bad syntax (at a byte offset) or a broken limit.
    package struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        package enum Kind: Equatable, Sendable { case syntax, limit }
        package let kind: Kind
        package let message: String
        package var description: String { message }
    }

    /// Throws the first problem found, reading `data` once.
    package func check(_ data: Data) throws(Problem) {
        let outcome = data.withUnsafeBytes { raw in
            Result { () throws(Problem) in
                var scanner = JSONShapeScanner(shape: self, bytes: raw.bindMemory(to: UInt8.self))
                try scanner.run()
            }
        }
        try outcome.get()
    }
}

/// The pass itself: an explicit stack (no recursion a hostile nesting could exhaust). Paths
/// for messages are built only when there is a problem to report: a bundle has hundreds of
/// thousands of members, and building text for each was most of the time taken.
struct JSONShapeScanner {
    struct Frame {
        var isObject: Bool
        var isMap: Bool
        var count = 0
        var keys: Set<String> = []
        /// The key of the member being read (objects).
        var lastKey = ""
        var path: String
        var limit: Int
        /// The string limit of every member (arrays and maps); nil: by key, or the default.
        var memberStringLimit: Int?
        /// Whether some limit names a member of this object by key.
        var hasFieldRules: Bool
    }

    let shape: JSONShape
    let p: UnsafeBufferPointer<UInt8>
    var i = 0
    var stack: [Frame] = []
    var ruledPrefixes: [String: Bool] = [:]

    init(shape: JSONShape, bytes: UnsafeBufferPointer<UInt8>) {
        self.shape = shape
        p = bytes
    }

    func syntax(_ what: String) -> JSONShape.Problem {
        .init(kind: .syntax, message: "not valid JSON at byte \(i + 1): \(what)")
    }

    func limit(_ message: String) -> JSONShape.Problem { .init(kind: .limit, message: message) }

    mutating func skipSpace() {
        while i < p.count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
    }

    /// How the first `n` frames lead to the value being read (`measurements[3].parameters`).
    func shown(through n: Int) -> String {
        var s = ""
        for f in stack.prefix(n) {
            if f.isObject {
                let k = displayText(f.lastKey, limit: 40)
                s += f.isMap ? "[\"\(k)\"]" : s.isEmpty ? k : ".\(k)"
            } else {
                s += "[\(f.count - 1)]"
            }
        }
        return s
    }

    func place(_ shown: String) -> String { shown.isEmpty ? "the document" : shown }

    /// The path pattern of the member being read.
    func childPath() -> String {
        guard let top = stack.last else { return "" }
        if !top.isObject { return top.path + "[]" }
        if top.isMap { return top.path.isEmpty ? "*" : top.path + ".*" }
        return top.path.isEmpty ? top.lastKey : top.path + "." + top.lastKey
    }

    func stringLimit() -> Int {
        guard let top = stack.last else { return shape.defaultString }
        if let limit = top.memberStringLimit { return limit }
        guard top.isObject, !top.isMap, top.hasFieldRules else { return shape.defaultString }
        return shape.strings[childPath()] ?? shape.defaultString
    }

    mutating func push(isObject: Bool) throws(JSONShape.Problem) {
        guard stack.count < shape.maxDepth else {
            throw limit("\(place(shown(through: stack.count))) is nested deeper than \(shape.maxDepth) levels")
        }
        let path = childPath()
        let isMap = isObject && shape.maps.contains(path)
        let prefix = path.isEmpty ? "" : path + "."
        let ruled: Bool
        if let known = ruledPrefixes[prefix] {
            ruled = known
        } else {
            ruled = shape.strings.keys.contains { $0.hasPrefix(prefix) } || shape.counts.keys.contains { $0.hasPrefix(prefix) }
                || shape.maps.contains { $0.hasPrefix(prefix) }
            ruledPrefixes[prefix] = ruled
        }
        let memberLimit = !isObject ? shape.strings[path + "[]"] ?? shape.defaultString
            : isMap ? shape.strings[prefix + "*"] ?? shape.defaultString : nil
        stack.append(Frame(isObject: isObject, isMap: isMap, path: path, limit: shape.counts[path] ?? shape.defaultCount,
                           memberStringLimit: memberLimit, hasFieldRules: ruled))
    }

    mutating func run() throws(JSONShape.Problem) {
        while true {
            // A value: of the member being read, or the document.
            skipSpace()
            guard i < p.count else { throw syntax("the document ends where a value should be") }
            switch p[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = p[i] == UInt8(ascii: "{")
                try push(isObject: isObject)
                i += 1
                skipSpace()
                if i < p.count, p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    stack.removeLast()
                } else {
                    try isObject ? member() : element()
                    continue
                }
            case UInt8(ascii: "\""):
                try string(limit: stringLimit(), what: nil)
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = i
                while i < p.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p[i]) || p[i] == UInt8(ascii: "-")
                    || p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
                    i += 1
                    if i - start > shape.maxNumberBytes {
                        throw limit("a number in \(place(shown(through: stack.count))) is longer than \(shape.maxNumberBytes) characters")
                    }
                }
            default:
                throw syntax("unexpected character")
            }
            // After a value: a separator, the end of containers, or the end of the document.
            while true {
                skipSpace()
                guard let top = stack.last else {
                    guard i == p.count else { throw syntax("more data after the document") }
                    return
                }
                guard i < p.count else { throw syntax("the document ends inside \(place(shown(through: stack.count - 1)))") }
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    try top.isObject ? member() : element()
                    break
                }
                if p[i] == (top.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    stack.removeLast()
                    continue
                }
                throw syntax(top.isObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        }
    }

    /// Counts one more member or element of the top container against its limit.
    mutating func count() throws(JSONShape.Problem) {
        let n = stack.count - 1
        stack[n].count += 1
        guard stack[n].count > stack[n].limit else { return }
        let noun = n == 0 ? "fields" : stack[n - 1].isObject ? stack[n - 1].lastKey : "elements"
        let parent = n == 0 ? "" : shown(through: n - 1)
        throw limit("too many \(displayText(noun, limit: 40))\(parent.isEmpty ? "" : " in \(parent)"): "
                    + "more than the \(stack[n].limit) allowed")
    }

    /// Reads `"key":` of the top object.
    mutating func member() throws(JSONShape.Problem) {
        skipSpace()
        guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw syntax("expected a key") }
        let start = i + 1
        let length = try string(limit: shape.maxKeyBytes, what: "a key")
        let key = try decodeKey(start, length)
        try count()
        let n = stack.count - 1
        if !stack[n].keys.insert(key).inserted {
            throw limit("\(place(shown(through: n))) has the key '\(displayText(key, limit: 64))' twice "
                        + "(JSON readers disagree on which value counts)")
        }
        stack[n].lastKey = key
        skipSpace()
        guard i < p.count, p[i] == UInt8(ascii: ":") else { throw syntax("expected ':' after a key") }
        i += 1
    }

    mutating func element() throws(JSONShape.Problem) {
        try count()
    }

    /// Skips a string starting at `i` (a quote); returns its length in bytes as written.
    /// `what` names it in messages (a key); nil: the member being read.
    @discardableResult
    mutating func string(limit: Int, what: String?) throws(JSONShape.Problem) -> Int {
        let start = i + 1
        var from = start
        guard let base = p.baseAddress else { throw syntax("empty") }
        while true {
            guard from < p.count, let hit = memchr(base + from, 0x22, p.count - from) else {
                throw syntax("a string is not closed")
            }
            let quote = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
            if quote - start > limit {
                let shown = what.map { "\($0) of \(place(self.shown(through: stack.count - 1)))" }
                    ?? place(self.shown(through: stack.count))
                throw self.limit("\(shown) is longer than \(limit) bytes")
            }
            var backslashes = 0
            while quote - 1 - backslashes >= start, p[quote - 1 - backslashes] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 {
                i = quote + 1
                return quote - start
            }
            from = quote + 1
        }
    }

    /// A key as the decoder will see it: escapes resolved, compared as Swift strings are.
    func decodeKey(_ start: Int, _ length: Int) throws(JSONShape.Problem) -> String {
        let bytes = UnsafeBufferPointer(rebasing: p[start..<(start + length)])
        guard bytes.contains(UInt8(ascii: "\\")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        var units: [UInt16] = []
        var k = 0
        func flushUnits() {
            if !units.isEmpty {
                out += Array(String(decoding: units, as: UTF16.self).utf8)
                units.removeAll()
            }
        }
        while k < bytes.count {
            if bytes[k] != UInt8(ascii: "\\") {
                flushUnits()
                out.append(bytes[k])
                k += 1
                continue
            }
            guard k + 1 < bytes.count else { throw syntax("a key ends in a backslash") }
            let e = bytes[k + 1]
            k += 2
            if e == UInt8(ascii: "u") {
                // Four hexadecimal digits, read without making strings (a key may hold dozens).
                guard k + 4 <= bytes.count else { throw syntax("a \\u escape in a key needs four hexadecimal digits") }
                var unit: UInt16 = 0
                for d in k..<(k + 4) {
                    let c = bytes[d] | 0x20  // lowercase letters; digits are unchanged
                    let v = c &- UInt8(ascii: "0") < 10 ? c &- UInt8(ascii: "0")
                        : c &- UInt8(ascii: "a") < 6 ? c &- UInt8(ascii: "a") &+ 10 : 0xFF
                    guard v != 0xFF else { throw syntax("a \\u escape in a key needs four hexadecimal digits") }
                    unit = unit << 4 | UInt16(v)
                }
                k += 4
                if unit < 0x80, units.isEmpty {
                    out.append(UInt8(unit))
                } else {
                    units.append(unit)
                }
                continue
            }
            flushUnits()
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            default: throw syntax("unknown escape in a key")
            }
        }
        flushUnits()
        return String(decoding: out, as: UTF8.self)
    }

    mutating func literal(_ word: String) throws(JSONShape.Problem) {
        for byte in word.utf8 {
            guard i < p.count, p[i] == byte else { throw syntax("unexpected character") }
            i += 1
        }
    }
}
