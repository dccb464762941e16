import Foundation
import VMLabSupport

/// Where a match was found, as byte offsets into the UTF-8 text.
public struct PatternMatch: Sendable, Equatable {
    public var range: Range<Int>
    /// The first capture group, when the pattern has one and it took part in the match.
    public var group: Range<Int>?
}

extension Pattern {
    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: Data, budget: Int = Pattern.defaultBudget) throws(PatternBudgetExceeded) -> Bool {
        try firstMatchEnd(in: text, budget: budget) != nil
    }

    /// Where the match that ends first ends (a byte offset), or nil. A DFA is built as the text
    /// is read, so each character costs a table lookup once its state is known; the budget
    /// counts the NFA steps spent building states, which a hostile text can force.
    public func firstMatchEnd(in text: Data, budget: Int = Pattern.defaultBudget) throws(PatternBudgetExceeded) -> Int? {
        var dfa = PatternDFA(program: program, budget: budget)
        let outcome = text.withUnsafeBytes { raw in
            Result { () throws(PatternBudgetExceeded) -> Int? in try dfa.search(raw.bindMemory(to: UInt8.self)) }
        }
        return try outcome.get()
    }

    /// The leftmost match with NSRegularExpression's preferences (first alternative, greedy or
    /// lazy as written) and its first group, found by a Pike VM: linear in the text, slower
    /// than `firstMatchEnd` by the size of the pattern. Every character costs steps here, so
    /// the default budget grows with the text (64 steps a byte).
    public func firstMatch(in text: Data, budget: Int? = nil) throws(PatternBudgetExceeded) -> PatternMatch? {
        var vm = PatternPikeVM(program: program, budget: budget ?? Pattern.defaultBudget + 64 * text.count)
        let outcome = text.withUnsafeBytes { raw in
            Result { () throws(PatternBudgetExceeded) -> PatternMatch? in try vm.run(raw.bindMemory(to: UInt8.self)) }
        }
        return try outcome.get()
    }
}

// MARK: - Context

/// How a character looks to zero-width assertions, as bits; `edge` is the start or end of
/// the text. `final` marks a line terminator that ends the text (or a CR before a final
/// LF), where a non-multiline `$` also matches; CR and LF are told apart because `^` and
/// `$` never match between the two halves of a CRLF.
enum PatternSide {
    static let terminator: UInt8 = 1
    static let word: UInt8 = 2
    static let final: UInt8 = 4
    static let cr: UInt8 = 8
    static let lf: UInt8 = 16
    static let other: UInt8 = 0
    static let edge: UInt8 = 128

    static func kind(_ v: UInt32, final isFinal: Bool) -> UInt8 {
        guard PatternCharSet.isLineTerminator(v) else {
            return PatternCharSet.isWord(Unicode.Scalar(v) ?? "\u{FFFD}") ? word : other
        }
        return terminator | (isFinal ? final : 0) | (v == 0x0D ? cr : 0) | (v == 0x0A ? lf : 0)
    }

    static func holds(_ assertion: Int32, previous: UInt8, next: UInt8) -> Bool {
        let insideCRLF = previous & cr != 0 && next & lf != 0
        switch PatternAssertion(rawValue: assertion)! {
        case .lineStart: return previous == edge || (previous & terminator != 0 && next != edge && !insideCRLF)
        case .textStart: return previous == edge
        case .lineEnd: return next == edge || (next & terminator != 0 && !insideCRLF)
        case .textEndOrFinalTerminator: return next == edge || (next & final != 0 && !insideCRLF)
        case .textEnd: return next == edge
        case .wordBoundary: return (previous & word != 0) != (next & word != 0)
        case .notWordBoundary: return (previous & word != 0) == (next & word != 0)
        }
    }

    /// How a character consumed now looks to the position after it.
    static func previous(after kind: UInt8) -> UInt8 { kind & ~final }

    /// Whether the character at `i` (of `length` bytes) may be `final`: the last one, or a
    /// CR just before a last LF. Only these are classified the slow way.
    @inline(__always)
    static func nearEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ length: Int) -> Bool {
        i + length >= p.count - 1
    }

    static func isFinal(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ v: UInt32, _ length: Int) -> Bool {
        if i + length >= p.count { return PatternCharSet.isLineTerminator(v) }
        return v == 0x0D && i + length == p.count - 1 && p[p.count - 1] == 0x0A
    }
}

/// Decodes one scalar of UTF-8 at `i`: its value and length. Malformed input becomes U+FFFD
/// per maximal ill-formed subpart, as `String(decoding:as:)` reads it.
@inline(__always)
func decodeUTF8(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    let n = p.count
    let count: Int, low: UInt8, high: UInt8
    switch b0 {
    case 0xC2...0xDF: (count, low, high) = (2, 0x80, 0xBF)
    case 0xE0: (count, low, high) = (3, 0xA0, 0xBF)
    case 0xE1...0xEC, 0xEE...0xEF: (count, low, high) = (3, 0x80, 0xBF)
    case 0xED: (count, low, high) = (3, 0x80, 0x9F)
    case 0xF0: (count, low, high) = (4, 0x90, 0xBF)
    case 0xF1...0xF3: (count, low, high) = (4, 0x80, 0xBF)
    case 0xF4: (count, low, high) = (4, 0x80, 0x8F)
    default: return (0xFFFD, 1)
    }
    var v = b0 & (count == 2 ? 0x1F : count == 3 ? 0x0F : 0x07)
    for k in 1..<count {
        guard i + k < n else { return (0xFFFD, k) }
        let c = p[i + k]
        let (lo, hi) = k == 1 ? (low, high) : (0x80, 0xBF)
        guard c >= lo, c <= hi else { return (0xFFFD, k) }
        v = v << 6 | UInt32(c & 0x3F)
    }
    return (v, count)
}

/// Characters grouped by what the program can tell apart: which sets hold them and how
/// assertions see them. A text has few classes, so DFA tables stay small.
struct PatternClasses: Sendable {
    static let maxClasses = 256
    let sets: [PatternCharSet]
    let words: Int
    var bits: [[UInt64]] = []
    var kinds: [UInt8] = []
    var index: [[UInt64]: Int32] = [:]
    var ascii: [Int32] = []
    var cache: [UInt32: Int32] = [:]

    init(sets: [PatternCharSet]) {
        self.sets = sets
        words = (sets.count + 63) / 64
        ascii = (0..<128).map { _ in Int32(-1) }
        for v in 0..<128 { ascii[v] = classify(UInt32(v), final: false) }
    }

    /// The class of the scalar at `i`, or -1 when there are too many classes to table.
    @inline(__always)
    mutating func of(_ v: UInt32, at i: Int, length: Int, in p: UnsafeBufferPointer<UInt8>) -> Int32 {
        if PatternSide.nearEnd(p, i, length) { return classify(v, final: PatternSide.isFinal(p, i, v, length)) }
        if v < 128 { return ascii[Int(v)] }
        if let c = cache[v] { return c }
        let c = classify(v, final: false)
        if cache.count < 65536 { cache[v] = c }
        return c
    }

    mutating func classify(_ v: UInt32, final: Bool) -> Int32 {
        let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
        let kind = PatternSide.kind(v, final: final)
        var key = [UInt64](repeating: 0, count: words + 1)
        for (k, set) in sets.enumerated() where set.contains(scalar) { key[k >> 6] |= 1 << UInt64(k & 63) }
        key[words] = UInt64(kind)
        if let c = index[key] { return c }
        guard bits.count < Self.maxClasses else { return -1 }  // untabled: matched the slow way
        bits.append(key)
        kinds.append(kind)
        index[key] = Int32(bits.count - 1)
        return Int32(bits.count - 1)
    }

    @inline(__always)
    func has(_ c: Int32, set k: Int32) -> Bool { bits[Int(c)][Int(k) >> 6] & (1 << UInt64(k & 63)) != 0 }
}

// MARK: - DFA

/// A DFA built lazily from the program (the RE2 approach): a state is the set of NFA
/// instructions waiting for the next character plus how the previous character looks to
/// assertions; the start instruction joins every state, so a match may start anywhere.
struct PatternDFA {
    static let maxStates = 2048
    let program: PatternProgram
    let budget: Int
    var steps = 0
    var classes: PatternClasses
    var kernels: [[Int32]] = []
    var index: [[Int32]: Int32] = [:]
    /// state × class → next state × 2 + (1 when a match ends before the character), or -1.
    var table: [Int32] = []
    var mark: [UInt32]
    var generation: UInt32 = 0
    var stack: [Int32] = []

    init(program: PatternProgram, budget: Int) {
        self.program = program
        self.budget = budget
        classes = program.classes
        mark = [UInt32](repeating: 0, count: program.ops.count)
    }

    /// A state's key is its instructions followed by the previous character's kind.
    mutating func intern(_ key: [Int32]) -> Int32 {
        if let s = index[key] { return s }
        kernels.append(key)
        table.append(contentsOf: repeatElement(-1, count: PatternClasses.maxClasses))
        index[key] = Int32(kernels.count - 1)
        return Int32(kernels.count - 1)
    }

    /// Follows every instruction that consumes nothing from `key`'s instructions (and the
    /// start), with assertions judged between `previous` and `next`. Returns the instructions
    /// that consume a character and whether the match instruction was reached.
    mutating func closure(_ key: [Int32], next: UInt8) throws(PatternBudgetExceeded) -> ([Int32], Bool) {
        generation &+= 1
        if generation == 0 {
            for k in mark.indices { mark[k] = 0 }
            generation = 1
        }
        let previous = UInt8(key[key.count - 1])
        stack.removeAll(keepingCapacity: true)
        stack.append(0)
        for pc in key.dropLast().reversed() { stack.append(pc) }
        var consuming: [Int32] = []
        var matched = false
        while let pc = stack.popLast() {
            let p = Int(pc)
            if mark[p] == generation { continue }
            mark[p] = generation
            steps += 1
            switch program.ops[p] {
            case .set: consuming.append(pc)
            case .split:
                stack.append(program.b[p])
                stack.append(program.a[p])
            case .jump: stack.append(program.a[p])
            case .save: stack.append(pc + 1)
            case .assertion:
                if PatternSide.holds(program.a[p], previous: previous, next: next) { stack.append(pc + 1) }
            case .match: matched = true
            }
        }
        if steps > budget { throw PatternBudgetExceeded() }
        return (consuming, matched)
    }

    /// The next state's key after consuming a character of class `c` from `key`.
    mutating func step(_ key: [Int32], class c: Int32, scalar v: UInt32, kind: UInt8) throws(PatternBudgetExceeded)
        -> ([Int32], Bool) {
        let (consuming, matched) = try closure(key, next: kind)
        var next: [Int32] = []
        let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
        for pc in consuming {
            let set = program.a[Int(pc)]
            if c >= 0 ? classes.has(c, set: set) : program.sets[Int(set)].contains(scalar) { next.append(pc + 1) }
        }
        next.sort()
        var unique: [Int32] = []
        for pc in next where unique.last != pc { unique.append(pc) }
        unique.append(Int32(PatternSide.previous(after: kind)))
        return (unique, matched)
    }

    mutating func search(_ p: UnsafeBufferPointer<UInt8>) throws(PatternBudgetExceeded) -> Int? {
        let n = p.count
        var state = intern([Int32(PatternSide.edge)])
        var i = 0
        while i < n {
            let (v, length) = decodeUTF8(p, i)
            let c = classes.of(v, at: i, length: length, in: p)
            var entry: Int32 = c >= 0 ? table[Int(state) * PatternClasses.maxClasses + Int(c)] : -1
            if entry < 0 {
                let key = kernels[Int(state)]
                let kind = c >= 0 ? classes.kinds[Int(c)] : PatternSide.kind(v, final: PatternSide.isFinal(p, i, v, length))
                let (next, matched) = try step(key, class: c, scalar: v, kind: kind)
                if kernels.count >= Self.maxStates {
                    // Too many states: start the cache again (the work is counted in the budget).
                    kernels.removeAll(keepingCapacity: true)
                    index.removeAll(keepingCapacity: true)
                    table.removeAll(keepingCapacity: true)
                    state = intern(key)
                }
                entry = intern(next) << 1 | (matched ? 1 : 0)
                if c >= 0 { table[Int(state) * PatternClasses.maxClasses + Int(c)] = entry }
            }
            if entry & 1 == 1 { return i }
            state = entry >> 1
            i += length
        }
        let (_, matched) = try closure(kernels[Int(state)], next: PatternSide.edge)
        return matched ? n : nil
    }
}

// MARK: - Pike VM

/// A thread of the Pike VM: an instruction and the capture positions so far (the whole
/// match and the first group; later groups are not reported).
struct PatternThread {
    var pc: Int32
    var caps: (Int, Int, Int, Int)
}

/// Runs every alternative in lock step, highest priority first, so the first match found
/// is the one a backtracking engine would find, in time linear in the text.
struct PatternPikeVM {
    let program: PatternProgram
    let budget: Int
    var steps = 0
    var classes: PatternClasses
    var mark: [UInt32]
    var generation: UInt32 = 0

    init(program: PatternProgram, budget: Int) {
        self.program = program
        self.budget = budget
        classes = program.classes
        mark = [UInt32](repeating: 0, count: program.ops.count)
    }

    mutating func run(_ p: UnsafeBufferPointer<UInt8>) throws(PatternBudgetExceeded) -> PatternMatch? {
        let n = p.count
        var pending: [PatternThread] = []
        var found: (Int, Int, Int, Int)?
        var previous = PatternSide.edge
        var i = 0
        var stack: [PatternThread] = []
        while true {
            var v: UInt32 = 0, length = 0, next = PatternSide.edge, c: Int32 = -1
            if i < n {
                (v, length) = decodeUTF8(p, i)
                c = classes.of(v, at: i, length: length, in: p)
                next = c >= 0 ? classes.kinds[Int(c)] : PatternSide.kind(v, final: PatternSide.isFinal(p, i, v, length))
            }
            if found == nil { pending.append(PatternThread(pc: 0, caps: (-1, -1, -1, -1))) }
            // Expand in priority order; the first thread to reach an instruction owns it.
            generation &+= 1
            if generation == 0 {
                for k in mark.indices { mark[k] = 0 }
                generation = 1
            }
            var ready: [PatternThread] = []
            for thread in pending {
                stack.append(thread)
                while var t = stack.popLast() {
                    let pc = Int(t.pc)
                    if mark[pc] == generation { continue }
                    mark[pc] = generation
                    steps += 1
                    switch program.ops[pc] {
                    case .set, .match: ready.append(t)
                    case .split:
                        stack.append(PatternThread(pc: program.b[pc], caps: t.caps))
                        stack.append(PatternThread(pc: program.a[pc], caps: t.caps))
                    case .jump: stack.append(PatternThread(pc: program.a[pc], caps: t.caps))
                    case .save:
                        switch program.a[pc] {
                        case 0: t.caps.0 = i
                        case 1: t.caps.1 = i
                        case 2: t.caps.2 = i
                        case 3: t.caps.3 = i
                        default: break
                        }
                        t.pc += 1
                        stack.append(t)
                    case .assertion:
                        if PatternSide.holds(program.a[pc], previous: previous, next: next) {
                            t.pc += 1
                            stack.append(t)
                        }
                    }
                }
            }
            if steps > budget { throw PatternBudgetExceeded() }
            pending.removeAll(keepingCapacity: true)
            for t in ready {
                let pc = Int(t.pc)
                if program.ops[pc] == .match {
                    found = t.caps
                    break  // lower-priority threads lose to this match
                }
                guard i < n else { continue }
                let set = program.a[pc]
                let member = c >= 0 ? classes.has(c, set: set)
                    : program.sets[Int(set)].contains(Unicode.Scalar(v) ?? "\u{FFFD}")
                if member { pending.append(PatternThread(pc: t.pc + 1, caps: t.caps)) }
            }
            if i >= n || (pending.isEmpty && found != nil) { break }
            previous = PatternSide.previous(after: next)
            i += length
        }
        guard let caps = found else { return nil }
        let group = caps.2 >= 0 && caps.3 >= caps.2 ? caps.2..<caps.3 : nil
        return PatternMatch(range: caps.0..<caps.1, group: group)
    }
}
