import Foundation
import VMLabSupport

/// Why a pattern could not be read, worded for the author of the rubric or lab.
public struct PatternError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A match that would have taken more steps than it was allowed: the check gives up rather
/// than hold up the batch.
public struct PatternBudgetExceeded: Error, CustomStringConvertible, Sendable, Equatable {
    public init() {}
    public var description: String { "pattern check exceeded its budget" }
}

/// A regular expression of the subset rubrics and lab measures use, matched in time linear in
/// the text (a lazily built DFA, or a Pike VM when a capture is wanted) and under a step
/// budget: a hostile artifact or guest output cannot make a check backtrack for minutes, as
/// it could with NSRegularExpression.
///
/// The meaning of what is accepted is ICU's (NSRegularExpression's), so a pattern means the
/// same as before: literals and `\` escapes of punctuation; `.` (not a line terminator);
/// `\d \D \w \W \s \S`; classes `[a-z_]`, `[^;]` with escapes and `[:alpha:]`-style names;
/// `\t \n \r \f \e \a \xhh \x{h…} \uhhhh \0ooo`; groups `(…)`, `(?:…)`, `(?<name>…)`;
/// `|`; `* + ? {n} {n,} {n,m}`, each optionally lazy (`*?`); anchors `^ $` (per line when
/// `multiline`), `\A \z \Z`, `\b \B`. Refused with a reason: backreferences, lookaround,
/// inline flags, possessive quantifiers, `\p{…}`, set operations.
public struct Pattern: Sendable, Equatable, CustomStringConvertible {
    public static let maxLength = 1000
    /// Instructions after counted repetitions are expanded (`(a{100}){100}` is refused).
    public static let maxProgram = 10_000
    public static let maxRepeat = 1000
    /// NFA steps one DFA search may spend building states: a real ruleset needs a few
    /// thousand (its states are built once, then every character is a table lookup); a
    /// pattern whose DFA explodes on a crafted text stops here, after about 2 s in a debug
    /// build and a tenth of that in a release one.
    public static let defaultBudget = 2_000_000

    /// The pattern as written.
    public let text: String
    /// `^` and `$` match at line starts and ends (NSRegularExpression's anchorsMatchLines).
    public let multiline: Bool
    let program: PatternProgram

    public init(_ text: String, multiline: Bool = false) throws(PatternError) {
        guard !text.isEmpty else { throw PatternError("the pattern is empty") }
        guard text.count <= Self.maxLength else {
            throw PatternError("the pattern is longer than \(Self.maxLength) characters")
        }
        self.text = text
        self.multiline = multiline
        var parser = PatternParser(Array(text.unicodeScalars), multiline: multiline)
        let root = try parser.parse()
        var compiler = PatternCompiler(sets: parser.sets)
        try compiler.compile(root)
        program = compiler.finish(groups: parser.groupCount)
    }

    public var description: String { text }

    public static func == (a: Pattern, b: Pattern) -> Bool { a.text == b.text && a.multiline == b.multiline }
}

// MARK: - Character sets

/// What one step of a match consumes: a set of Unicode scalars.
struct PatternCharSet: Hashable, Sendable {
    enum Builtin: Hashable, Sendable {
        case digit, word, space, notLineTerminator, alpha, alnum, upper, lower, punct, xdigit, posixSpace
    }

    var ranges: [ClosedRange<UInt32>] = []
    struct BuiltinRef: Hashable, Sendable {
        var builtin: Builtin
        var negated: Bool
    }

    /// Builtin classes, each possibly negated (`\D` is `.digit` negated).
    var builtins: [BuiltinRef] = []
    var negated = false

    func contains(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        let found = ranges.contains { $0.contains(v) } || builtins.contains { Self.test($0.builtin, s) != $0.negated }
        return found != negated
    }

    static func test(_ builtin: Builtin, _ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        switch builtin {
        case .digit: return p.generalCategory == .decimalNumber
        case .word:
            return p.isAlphabetic || s.value == 0x200C || s.value == 0x200D
                || [.nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation].contains(p.generalCategory)
        case .space:
            return [0x09, 0x0A, 0x0C, 0x0D].contains(s.value)
                || [.spaceSeparator, .lineSeparator, .paragraphSeparator].contains(p.generalCategory)
        case .notLineTerminator: return !isLineTerminator(s.value)
        case .alpha: return p.isAlphabetic
        case .alnum: return p.isAlphabetic || p.generalCategory == .decimalNumber
        case .upper: return p.isUppercase
        case .lower: return p.isLowercase
        case .punct:
            return [.connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                    .finalPunctuation, .otherPunctuation].contains(p.generalCategory)
        case .xdigit: return ("0"..."9").contains(s) || ("a"..."f").contains(s) || ("A"..."F").contains(s)
        case .posixSpace: return p.isWhitespace
        }
    }

    static func isLineTerminator(_ v: UInt32) -> Bool {
        (0x0A...0x0D).contains(v) || v == 0x85 || v == 0x2028 || v == 0x2029
    }

    static func isWord(_ s: Unicode.Scalar) -> Bool { test(.word, s) }
}

/// Zero-width conditions, decided by the characters on either side.
enum PatternAssertion: Int32, Sendable {
    case lineStart, textStart, lineEnd, textEndOrFinalTerminator, textEnd, wordBoundary, notWordBoundary
}

// MARK: - Parsing

indirect enum PatternNode {
    case empty
    case set(Int)
    case assertion(PatternAssertion)
    case concat([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?, greedy: Bool)
    case group(PatternNode, capture: Int?)
}

struct PatternParser {
    let s: [Unicode.Scalar]
    let multiline: Bool
    var i = 0
    var sets: [PatternCharSet] = []
    var setIndex: [PatternCharSet: Int] = [:]
    var groupCount = 0
    var depth = 0

    init(_ scalars: [Unicode.Scalar], multiline: Bool) {
        s = scalars
        self.multiline = multiline
    }

    mutating func parse() throws(PatternError) -> PatternNode {
        let node = try alternation()
        if i < s.count { throw error("unmatched ')'") }
        return node
    }

    func error(_ message: String) -> PatternError {
        PatternError("\(message) at character \(Swift.min(i, s.count) + 1)")
    }

    var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

    mutating func set(_ set: PatternCharSet) -> PatternNode {
        if let index = setIndex[set] { return .set(index) }
        sets.append(set)
        setIndex[set] = sets.count - 1
        return .set(sets.count - 1)
    }

    mutating func literal(_ scalar: Unicode.Scalar) -> PatternNode {
        set(PatternCharSet(ranges: [scalar.value...scalar.value]))
    }

    mutating func alternation() throws(PatternError) -> PatternNode {
        var branches = [try concatenation()]
        while peek == "|" {
            i += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func concatenation() throws(PatternError) -> PatternNode {
        var items: [PatternNode] = []
        while let c = peek, c != "|", c != ")" {
            items.append(try quantified())
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    mutating func quantified() throws(PatternError) -> PatternNode {
        let atom = try self.atom()
        guard let c = peek else { return atom }
        var min = 0, max: Int? = nil
        switch c {
        case "*": i += 1
        case "+": i += 1; min = 1
        case "?": i += 1; max = 1
        case "{": (min, max) = try interval()
        default: return atom
        }
        var greedy = true
        if peek == "?" { i += 1; greedy = false } else if peek == "+" {
            throw error("possessive quantifiers are not supported")
        }
        if let next = peek, "*+?{".unicodeScalars.contains(next) { throw error("nothing to repeat") }
        return .repetition(atom, min: min, max: max, greedy: greedy)
    }

    /// `{n}`, `{n,}` or `{n,m}`.
    mutating func interval() throws(PatternError) -> (Int, Int?) {
        i += 1
        func number() -> Int? {
            var n: Int?
            while let c = peek, ("0"..."9").contains(c) {
                n = Swift.min((n ?? 0) * 10 + Int(c.value - 48), 100_000)
                i += 1
            }
            return n
        }
        guard let low = number() else { throw error("a '{' interval needs a number") }
        var high: Int? = low
        if peek == "," {
            i += 1
            high = number()
        }
        guard peek == "}" else { throw error("a '{' interval is not closed") }
        i += 1
        if low > Pattern.maxRepeat || (high ?? 0) > Pattern.maxRepeat {
            throw error("repetitions are limited to \(Pattern.maxRepeat)")
        }
        if let high, high < low { throw error("the interval {\(low),\(high)} is empty") }
        return (low, high)
    }

    mutating func atom() throws(PatternError) -> PatternNode {
        let c = s[i]
        i += 1
        switch c {
        case "(": return try group()
        case ")": throw error("unmatched ')'")
        case "[": return set(try bracket())
        case ".": return set(PatternCharSet(builtins: [.init(builtin: .notLineTerminator, negated: false)]))
        case "^": return .assertion(multiline ? .lineStart : .textStart)
        case "$": return .assertion(multiline ? .lineEnd : .textEndOrFinalTerminator)
        case "*", "+", "?", "{": i -= 1; throw error("nothing to repeat")
        case "\\": return try escape()
        default: return literal(c)
        }
    }

    mutating func group() throws(PatternError) -> PatternNode {
        depth += 1
        defer { depth -= 1 }
        if depth > 100 { throw error("groups are nested too deeply") }
        var capture: Int?
        if peek == "?" {
            i += 1
            switch peek {
            case ":": i += 1
            case "<" where i + 1 < s.count && s[i + 1].properties.isAlphabetic:
                while let c = peek, c != ">" { i += 1 }
                guard peek == ">" else { throw error("a named group is not closed with '>'") }
                i += 1
                groupCount += 1
                capture = groupCount
            case "=", "!", "<": throw error("lookahead and lookbehind are not supported")
            default: throw error("inline flags and other (? groups are not supported")
            }
        } else {
            groupCount += 1
            capture = groupCount
        }
        let inner = try alternation()
        guard peek == ")" else { throw error("missing ')'") }
        i += 1
        return .group(inner, capture: capture)
    }

    /// After a backslash, outside a class.
    mutating func escape() throws(PatternError) -> PatternNode {
        guard let c = peek else { throw error("the pattern ends with a lone backslash") }
        switch c {
        case "b": i += 1; return .assertion(.wordBoundary)
        case "B": i += 1; return .assertion(.notWordBoundary)
        case "A": i += 1; return .assertion(.textStart)
        case "z": i += 1; return .assertion(.textEnd)
        case "Z": i += 1; return .assertion(.textEndOrFinalTerminator)
        default:
            switch try escapedItem() {
            case .scalar(let v): return literal(v)
            case .builtin(let b, let negated): return set(PatternCharSet(builtins: [.init(builtin: b, negated: negated)]))
            }
        }
    }

    enum EscapedItem { case scalar(Unicode.Scalar), builtin(PatternCharSet.Builtin, Bool) }

    /// An escape that stands for a character or a class (inside or outside brackets).
    mutating func escapedItem() throws(PatternError) -> EscapedItem {
        guard let c = peek else { throw error("the pattern ends with a lone backslash") }
        i += 1
        switch c {
        case "d": return .builtin(.digit, false)
        case "D": return .builtin(.digit, true)
        case "w": return .builtin(.word, false)
        case "W": return .builtin(.word, true)
        case "s": return .builtin(.space, false)
        case "S": return .builtin(.space, true)
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "e": return .scalar("\u{1B}")
        case "a": return .scalar("\u{07}")
        case "0":
            var v: UInt32 = 0, n = 0
            while n < 3, let d = peek, ("0"..."7").contains(d) { v = v * 8 + d.value - 48; i += 1; n += 1 }
            return .scalar(Unicode.Scalar(v)!)
        case "x":
            if peek == "{" {
                i += 1
                let v = try hex(maxDigits: 8, exactly: false)
                guard peek == "}" else { throw error("\\x{ is not closed") }
                i += 1
                return .scalar(try scalar(v))
            }
            return .scalar(try scalar(try hex(maxDigits: 2, exactly: true)))
        case "u": return .scalar(try scalar(try hex(maxDigits: 4, exactly: true)))
        case "U": return .scalar(try scalar(try hex(maxDigits: 8, exactly: true)))
        case "1"..."9": i -= 1; throw error("backreferences are not supported")
        case "p", "P": i -= 1; throw error("Unicode properties (\\p) are not supported")
        default:
            if c.properties.isAlphabetic || ("0"..."9").contains(c) {
                i -= 1
                throw error("unknown or unsupported escape '\\\(c)'")
            }
            return .scalar(c)
        }
    }

    mutating func hex(maxDigits: Int, exactly: Bool) throws(PatternError) -> UInt32 {
        var v: UInt32 = 0, n = 0
        while n < maxDigits, let c = peek, let d = Int(String(c), radix: 16) {
            v = v * 16 + UInt32(d)
            i += 1
            n += 1
        }
        if n == 0 || (exactly && n != maxDigits) { throw error("a hexadecimal escape needs \(maxDigits) digits") }
        return v
    }

    func scalar(_ v: UInt32) throws(PatternError) -> Unicode.Scalar {
        guard let s = Unicode.Scalar(v) else { throw error("U+\(String(v, radix: 16)) is not a character") }
        return s
    }

    static let posixNames: [String: PatternCharSet.Builtin] = [
        "alpha": .alpha, "digit": .digit, "alnum": .alnum, "space": .posixSpace, "upper": .upper, "lower": .lower,
        "punct": .punct, "xdigit": .xdigit,
    ]

    /// A `[...]` class; the `[` is already read.
    mutating func bracket() throws(PatternError) -> PatternCharSet {
        var set = PatternCharSet()
        if peek == "^" { i += 1; set.negated = true }
        var first = true
        while true {
            guard let c = peek else { throw error("missing ']'") }
            if c == "]", !first { i += 1; break }
            first = false
            if c == "[" {
                if i + 1 < s.count, s[i + 1] == ":" {
                    let rest = String(String.UnicodeScalarView(s[(i + 2)...].prefix(12)))
                    if let end = rest.range(of: ":]") {
                        let name = String(rest[..<end.lowerBound])
                        guard let builtin = Self.posixNames[name] else { throw error("unknown class [:\(name):]") }
                        set.builtins.append(.init(builtin: builtin, negated: false))
                        i += 2 + name.unicodeScalars.count + 2
                        continue
                    }
                }
                throw error("nested classes and set operations are not supported")
            }
            if c == "&", i + 1 < s.count, s[i + 1] == "&" { throw error("set operations are not supported") }
            let low: Unicode.Scalar
            i += 1
            if c == "\\" {
                switch try escapedItem() {
                case .builtin(let b, let negated):
                    set.builtins.append(.init(builtin: b, negated: negated))
                    continue
                case .scalar(let v): low = v
                }
            } else {
                low = c
            }
            if peek == "-", i + 1 < s.count, s[i + 1] != "]" {
                i += 1
                var high = s[i]
                i += 1
                if high == "\\" {
                    guard case .scalar(let v) = try escapedItem() else { throw error("a range cannot end in a class") }
                    high = v
                } else if high == "[" {
                    throw error("a range cannot end in a class")
                }
                guard low.value <= high.value else { throw error("the range \(low)-\(high) is backwards") }
                set.ranges.append(low.value...high.value)
            } else {
                set.ranges.append(low.value...low.value)
            }
        }
        set.ranges.sort { $0.lowerBound < $1.lowerBound }
        return set
    }
}

// MARK: - Compiling

/// The instructions of a Thompson NFA: `set` consumes one character of a set, `split` forks
/// (the first branch preferred), `save` records a capture position.
struct PatternProgram: Sendable {
    enum Op: UInt8, Sendable { case set, split, jump, assertion, save, match }
    var ops: [Op] = []
    var a: [Int32] = []
    var b: [Int32] = []
    var sets: [PatternCharSet] = []
    var groups = 0
    /// The character classes of ASCII, worked out once per pattern rather than per match.
    var classes = PatternClasses(sets: [])
}

struct PatternCompiler {
    var program = PatternProgram()

    init(sets: [PatternCharSet]) { program.sets = sets }

    @discardableResult
    mutating func emit(_ op: PatternProgram.Op, _ a: Int32 = 0, _ b: Int32 = 0) throws(PatternError) -> Int {
        guard program.ops.count < Pattern.maxProgram else {
            throw PatternError("the pattern is too large once its repetitions are expanded")
        }
        program.ops.append(op)
        program.a.append(a)
        program.b.append(b)
        return program.ops.count - 1
    }

    var here: Int32 { Int32(program.ops.count) }

    mutating func compile(_ root: PatternNode) throws(PatternError) {
        try emit(.save, 0)
        try node(root)
        try emit(.save, 1)
        try emit(.match)
    }

    mutating func finish(groups: Int) -> PatternProgram {
        program.groups = groups
        program.classes = PatternClasses(sets: program.sets)
        return program
    }

    mutating func node(_ n: PatternNode) throws(PatternError) {
        switch n {
        case .empty: break
        case .set(let k): try emit(.set, Int32(k))
        case .assertion(let kind): try emit(.assertion, kind.rawValue)
        case .concat(let items): for item in items { try node(item) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = try emit(.split)
                    program.a[split] = here
                    try node(branch)
                    jumps.append(try emit(.jump))
                    program.b[split] = here
                } else {
                    try node(branch)
                }
            }
            for j in jumps { program.a[j] = here }
        case .group(let inner, let capture):
            if let capture { try emit(.save, Int32(2 * capture)) }
            try node(inner)
            if let capture { try emit(.save, Int32(2 * capture + 1)) }
        case let .repetition(inner, min, max, greedy):
            for _ in 0..<min { try node(inner) }
            if let max {
                var exits: [Int] = []
                for _ in min..<max {
                    let split = try emit(.split)
                    exits.append(split)
                    let body = here
                    try node(inner)
                    if greedy { program.a[split] = body } else { program.b[split] = body }
                }
                for split in exits {
                    if greedy { program.b[split] = here } else { program.a[split] = here }
                }
            } else {
                let split = try emit(.split)
                try node(inner)
                try emit(.jump, Int32(split))
                if greedy {
                    program.a[split] = Int32(split + 1)
                    program.b[split] = here
                } else {
                    program.a[split] = here
                    program.b[split] = Int32(split + 1)
                }
            }
        }
    }
}
