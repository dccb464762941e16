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

/// The pass itself: an explicit stack (no recursion a hostile nesting could exhaust).
struct JSONShapeScanner {
    struct Frame {
        var isObject: Bool
        var count = 0
        var keys: Set<String> = []
        /// The container's path pattern and how it is shown (`measurements[3].parameters`).
        var path: String
        var shown: String
        var limit: Int
        /// What its members are called in messages (`parameters`, `measurements`).
        var noun: String
        var parentShown: String
    }

    let shape: JSONShape
    let p: UnsafeBufferPointer<UInt8>
    var i = 0
    var stack: [Frame] = []

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

    mutating func run() throws(JSONShape.Problem) {
        var path = "", shown = "", noun = "fields"
        while true {
            // A value at `path`.
            skipSpace()
            guard i < p.count else { throw syntax("the document ends where a value should be") }
            switch p[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = p[i] == UInt8(ascii: "{")
                guard stack.count < shape.maxDepth else { throw limit("\(place(shown)) is nested deeper than \(shape.maxDepth) levels") }
                stack.append(Frame(isObject: isObject, path: path, shown: shown, limit: shape.counts[path] ?? shape.defaultCount,
                                   noun: noun, parentShown: stack.last?.shown ?? ""))
                i += 1
                skipSpace()
                if i < p.count, p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    stack.removeLast()
                } else if isObject {
                    (path, shown, noun) = try member()
                    continue
                } else {
                    (path, shown, noun) = try element()
                    continue
                }
            case UInt8(ascii: "\""):
                _ = try string(limit: shape.strings[path] ?? shape.defaultString, shown: shown)
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = i
                while i < p.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p[i]) || p[i] == UInt8(ascii: "-")
                    || p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
                    i += 1
                    if i - start > shape.maxNumberBytes { throw limit("a number in \(place(shown)) is longer than \(shape.maxNumberBytes) characters") }
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
                guard i < p.count else { throw syntax("the document ends inside \(place(top.shown))") }
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    (path, shown, noun) = top.isObject ? try member() : try element()
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

    func place(_ shown: String) -> String { shown.isEmpty ? "the document" : shown }

    /// Counts one more member or element of the top container against its limit.
    mutating func count() throws(JSONShape.Problem) {
        stack[stack.count - 1].count += 1
        let top = stack[stack.count - 1]
        if top.count > top.limit {
            let place = top.parentShown.isEmpty ? "" : " in \(top.parentShown)"
            throw limit("too many \(top.noun)\(place): more than the \(top.limit) allowed")
        }
    }

    /// Reads `"key":` of the top object; returns the member's path, shown path and noun.
    mutating func member() throws(JSONShape.Problem) -> (String, String, String) {
        skipSpace()
        guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw syntax("expected a key") }
        let top = stack[stack.count - 1]
        let start = i + 1
        let length = try string(limit: shape.maxKeyBytes, shown: "a key of \(place(top.shown))")
        let key = try decodeKey(start, length)
        try count()
        if !stack[stack.count - 1].keys.insert(key).inserted {
            throw limit("\(place(top.shown)) has the key '\(displayText(key, limit: 64))' twice "
                        + "(JSON readers disagree on which value counts)")
        }
        skipSpace()
        guard i < p.count, p[i] == UInt8(ascii: ":") else { throw syntax("expected ':' after a key") }
        i += 1
        let isMap = shape.maps.contains(top.path)
        let path = top.path.isEmpty ? key : top.path + "." + (isMap ? "*" : key)
        let shownKey = displayText(key, limit: 40)
        let shown = top.shown.isEmpty ? shownKey : isMap ? "\(top.shown)[\"\(shownKey)\"]" : "\(top.shown).\(shownKey)"
        return (path, shown, key)
    }

    mutating func element() throws(JSONShape.Problem) -> (String, String, String) {
        try count()
        let top = stack[stack.count - 1]
        return (top.path + "[]", "\(top.shown)[\(top.count - 1)]", "elements")
    }

    /// Skips a string starting at `i` (a quote); returns its length in bytes as written.
    mutating func string(limit: Int, shown: String) throws(JSONShape.Problem) -> Int {
        let start = i + 1
        var from = start
        guard let base = p.baseAddress else { throw syntax("empty") }
        while true {
            guard from < p.count, let hit = memchr(base + from, 0x22, p.count - from) else {
                throw syntax("a string is not closed")
            }
            let quote = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
            if quote - start > limit {
                throw self.limit("\(place(shown)) is longer than \(limit) bytes")
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
                guard k + 4 <= bytes.count, let unit = UInt16(String(decoding: UnsafeBufferPointer(rebasing: bytes[k..<(k + 4)]),
                                                                     as: UTF8.self), radix: 16) else {
                    throw syntax("a \\u escape in a key needs four hexadecimal digits")
                }
                units.append(unit)
                k += 4
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
