import Foundation
import VMLabSupport

/// Why an expression could not be read or evaluated, located by its 1-based column so a
/// rubric author can find the spot in a long line.
public struct FormulaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// 1-based column (in characters) of the offending token.
    public let column: Int
    public let message: String

    public init(column: Int, _ message: String) {
        self.column = column
        self.message = message
    }

    public var description: String { "\(message) at column \(column)" }
}

/// A small arithmetic language for rubrics: numbers, lowercase names, `+ - * /`, unary `-`,
/// parentheses, `min(...)`, `max(...)`, `abs(x)`, comparisons and `&& || !` (true is 1,
/// false 0). Rubrics are data, not code: nothing here can loop, call out, or recurse without
/// bound (text is capped at 1000 characters and nesting at 64 levels).
public struct Formula: Sendable, Equatable, CustomStringConvertible {
    public static let maxLength = 1000
    public static let maxDepth = 64

    /// The text as written.
    public let text: String
    let root: FormulaNode

    /// Parses `text`; a syntax error throws `FormulaError` with its column.
    public init(_ text: String) throws {
        guard text.count <= Self.maxLength else {
            throw FormulaError(column: Self.maxLength + 1,
                                  "the expression is longer than \(Self.maxLength) characters")
        }
        self.text = text
        var parser = FormulaParser(tokens: try FormulaLexer.tokens(text), end: text.count + 1)
        root = try parser.parseAll()
    }

    /// The variable names the expression reads (function names excluded), so a rubric can be
    /// checked against what a lab can measure before any student is graded.
    public var identifiers: Set<String> {
        var names: Set<String> = []
        root.collectIdentifiers(into: &names)
        return names
    }

    /// The value with `variables` bound; an unknown name, a division by zero or a non-finite
    /// result throws `FormulaError`.
    public func evaluate(_ variables: [String: Double]) throws -> Double {
        let value = try root.evaluate(variables)
        guard value.isFinite else { throw FormulaError(column: 1, "the result is not a finite number") }
        return value
    }

    public var description: String { text }

    public static func == (a: Formula, b: Formula) -> Bool { a.text == b.text }
}

// MARK: - Syntax tree

enum FormulaFunction: String, Sendable, CaseIterable {
    case min, max, abs
}

indirect enum FormulaNode: Sendable, Equatable {
    case number(Double)
    case variable(String, column: Int)
    case negate(FormulaNode)
    case not(FormulaNode)
    /// `op` is the operator's text (`+`, `<=`, `&&`...).
    case binary(String, FormulaNode, FormulaNode, column: Int)
    case call(FormulaFunction, [FormulaNode], column: Int)

    func collectIdentifiers(into names: inout Set<String>) {
        switch self {
        case .number: break
        case .variable(let name, _): names.insert(name)
        case .negate(let x), .not(let x): x.collectIdentifiers(into: &names)
        case let .binary(_, a, b, _):
            a.collectIdentifiers(into: &names)
            b.collectIdentifiers(into: &names)
        case let .call(_, args, _):
            for a in args { a.collectIdentifiers(into: &names) }
        }
    }

    func evaluate(_ variables: [String: Double]) throws -> Double {
        switch self {
        case .number(let n):
            return n
        case let .variable(name, column):
            guard let value = variables[name] else {
                throw FormulaError(column: column, "unknown name '\(name)' (\(knownNames(near: name, variables)))")
            }
            return value
        case .negate(let x):
            return -(try x.evaluate(variables))
        case .not(let x):
            return try x.evaluate(variables) == 0 ? 1 : 0
        case let .binary(op, a, b, column):
            let left = try a.evaluate(variables)
            switch op {
            case "&&": return left != 0 ? (try b.evaluate(variables) != 0 ? 1 : 0) : 0
            case "||": return left != 0 ? 1 : (try b.evaluate(variables) != 0 ? 1 : 0)
            default: break
            }
            let right = try b.evaluate(variables)
            switch op {
            case "+": return left + right
            case "-": return left - right
            case "*": return left * right
            case "/":
                guard right != 0 else { throw FormulaError(column: column, "division by zero") }
                return left / right
            case "<": return left < right ? 1 : 0
            case "<=": return left <= right ? 1 : 0
            case ">": return left > right ? 1 : 0
            case ">=": return left >= right ? 1 : 0
            case "==": return left == right ? 1 : 0
            case "!=": return left != right ? 1 : 0
            default: preconditionFailure("operator \(op) is parsed but not evaluated")
            }
        case let .call(function, args, _):
            let values = try args.map { try $0.evaluate(variables) }
            switch function {
            case .min: return values.min()!
            case .max: return values.max()!
            case .abs: return Swift.abs(values[0])
            }
        }
    }
}

/// The known names for an "unknown name" message: those sharing the part before the first
/// `.` when there are any (a typo in a filter), else all; at most 12.
private func knownNames(near name: String, _ variables: [String: Double]) -> String {
    guard !variables.isEmpty else { return "no values are known" }
    let root = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    var names = variables.keys.filter { $0 == root || $0.hasPrefix(root + ".") }.sorted()
    if names.isEmpty { names = variables.keys.sorted() }
    let shown = names.prefix(12).joined(separator: ", ")
    return "known: " + shown + (names.count > 12 ? ", … and \(names.count - 12) more" : "")
}

// MARK: - Lexer

struct FormulaToken: Equatable {
    enum Kind: Equatable {
        case number(Double)
        case name(String)
        /// Operators and punctuation: `+ - * / < <= > >= == != && || ! ( ) ,`.
        case symbol(String)
    }
    var kind: Kind
    var column: Int
}

enum FormulaLexer {
    static func tokens(_ text: String) throws -> [FormulaToken] {
        let chars = Array(text)
        var tokens: [FormulaToken] = []
        var i = 0
        func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }
        func isNameStart(_ c: Character) -> Bool { c == "_" || ("a"..."z").contains(c) }
        func isNameChar(_ c: Character) -> Bool { isNameStart(c) || isDigit(c) || c == "." }

        while i < chars.count {
            let c = chars[i]
            let column = i + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
            } else if isDigit(c) || (c == "." && i + 1 < chars.count && isDigit(chars[i + 1])) {
                var j = i
                while j < chars.count, isDigit(chars[j]) { j += 1 }
                if j < chars.count, chars[j] == "." {
                    j += 1
                    guard j < chars.count, isDigit(chars[j]) else {
                        throw FormulaError(column: j + 1, "expected a digit after the decimal point")
                    }
                    while j < chars.count, isDigit(chars[j]) { j += 1 }
                }
                if j < chars.count, chars[j] == "e" || chars[j] == "E" {
                    var k = j + 1
                    if k < chars.count, chars[k] == "+" || chars[k] == "-" { k += 1 }
                    if k < chars.count, isDigit(chars[k]) {
                        while k < chars.count, isDigit(chars[k]) { k += 1 }
                        j = k
                    }
                }
                if j < chars.count, isNameChar(chars[j]) || chars[j].isLetter {
                    throw FormulaError(column: j + 1, "expected an operator after the number, found '\(chars[j])'")
                }
                guard let value = Double(String(chars[i..<j])), value.isFinite else {
                    throw FormulaError(column: column, "'\(String(chars[i..<j]))' is not a usable number")
                }
                tokens.append(FormulaToken(kind: .number(value), column: column))
                i = j
            } else if isNameStart(c) {
                var j = i
                while j < chars.count, isNameChar(chars[j]) { j += 1 }
                if j < chars.count, chars[j].isLetter {
                    throw FormulaError(column: j + 1, "names are lowercase letters, digits, '_' and '.', "
                                          + "found '\(chars[j])'")
                }
                tokens.append(FormulaToken(kind: .name(String(chars[i..<j])), column: column))
                i = j
            } else {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["<=", ">=", "==", "!=", "&&", "||"].contains(two) {
                    tokens.append(FormulaToken(kind: .symbol(two), column: column))
                    i += 2
                } else if "+-*/<>!(),".contains(c) {
                    tokens.append(FormulaToken(kind: .symbol(String(c)), column: column))
                    i += 1
                } else {
                    let hint: String
                    switch c {
                    case "=": hint = " (write == to compare)"
                    case "&": hint = " (write && for and)"
                    case "|": hint = " (write || for or)"
                    default: hint = c.isLetter ? " (names are lowercase)" : ""
                    }
                    throw FormulaError(column: column, "unexpected character '\(c)'\(hint)")
                }
            }
        }
        return tokens
    }
}

// MARK: - Parser

/// Recursive descent, loosest first: `||`, `&&`, comparisons, `+ -`, `* /`, unary, primary.
struct FormulaParser {
    let tokens: [FormulaToken]
    /// Column just past the text, for "expected ... at the end" messages.
    let end: Int
    var position = 0
    var depth = 0

    init(tokens: [FormulaToken], end: Int) {
        self.tokens = tokens
        self.end = end
    }

    var current: FormulaToken? { position < tokens.count ? tokens[position] : nil }
    var column: Int { current?.column ?? end }

    mutating func parseAll() throws -> FormulaNode {
        let node = try parseOr()
        if let token = current {
            throw FormulaError(column: token.column, "expected an operator or the end, found \(describe(token))")
        }
        return node
    }

    func describe(_ token: FormulaToken) -> String {
        switch token.kind {
        case .number(let n): return "the number \(formatNumber(n))"
        case .name(let s): return "'\(s)'"
        case .symbol(let s): return "'\(s)'"
        }
    }

    mutating func accept(_ symbols: [String]) -> (String, Int)? {
        guard let token = current, case .symbol(let s) = token.kind, symbols.contains(s) else { return nil }
        position += 1
        return (s, token.column)
    }

    mutating func expect(_ symbol: String) throws {
        guard accept([symbol]) != nil else {
            let found = current.map { ", found \(describe($0))" } ?? ""
            throw FormulaError(column: column, "expected '\(symbol)'\(found)")
        }
    }

    /// Guards the recursion: every level of parentheses, call or unary operator counts.
    mutating func enter() throws {
        depth += 1
        if depth > Formula.maxDepth {
            throw FormulaError(column: column, "nested too deeply (more than \(Formula.maxDepth) levels)")
        }
    }

    mutating func binaryLevel(_ symbols: [String], _ next: (inout FormulaParser) throws -> FormulaNode)
        rethrows -> FormulaNode {
        var left = try next(&self)
        while let (op, column) = accept(symbols) {
            let right = try next(&self)
            left = .binary(op, left, right, column: column)
        }
        return left
    }

    mutating func parseOr() throws -> FormulaNode {
        try binaryLevel(["||"]) { try $0.parseAnd() }
    }

    mutating func parseAnd() throws -> FormulaNode {
        try binaryLevel(["&&"]) { try $0.parseComparison() }
    }

    mutating func parseComparison() throws -> FormulaNode {
        try binaryLevel(["<", "<=", ">", ">=", "==", "!="]) { try $0.parseSum() }
    }

    mutating func parseSum() throws -> FormulaNode {
        try binaryLevel(["+", "-"]) { try $0.parseProduct() }
    }

    mutating func parseProduct() throws -> FormulaNode {
        try binaryLevel(["*", "/"]) { try $0.parseUnary() }
    }

    mutating func parseUnary() throws -> FormulaNode {
        if let (op, _) = accept(["-", "!"]) {
            try enter()
            defer { depth -= 1 }
            let operand = try parseUnary()
            return op == "-" ? .negate(operand) : .not(operand)
        }
        return try parsePrimary()
    }

    mutating func parsePrimary() throws -> FormulaNode {
        guard let token = current else {
            throw FormulaError(column: end, "expected a number, a name or '(' at the end")
        }
        switch token.kind {
        case .number(let n):
            position += 1
            return .number(n)
        case .name(let name):
            position += 1
            guard accept(["("]) != nil else { return .variable(name, column: token.column) }
            guard let function = FormulaFunction(rawValue: name) else {
                let known = FormulaFunction.allCases.map(\.rawValue).joined(separator: ", ")
                throw FormulaError(column: token.column, "unknown function '\(name)' (functions: \(known))")
            }
            try enter()
            defer { depth -= 1 }
            var args: [FormulaNode] = []
            if accept([")"]) == nil {
                repeat { args.append(try parseOr()) } while accept([","]) != nil
                try expect(")")
            }
            if function == .abs, args.count != 1 {
                throw FormulaError(column: token.column, "abs takes one value, got \(args.count)")
            }
            if args.isEmpty {
                throw FormulaError(column: token.column, "\(name) needs at least one value")
            }
            return .call(function, args, column: token.column)
        case .symbol("("):
            position += 1
            try enter()
            defer { depth -= 1 }
            let inner = try parseOr()
            try expect(")")
            return inner
        case .symbol:
            throw FormulaError(column: token.column, "expected a number, a name or '(', found \(describe(token))")
        }
    }
}
