import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// Guards the rubric expression language: values, precedence, names, every error with its column,
/// and the caps that keep hostile text from exhausting the stack.
@Suite("Grading: Formula")
struct GradingExpressionTests {
    @Test(arguments: [
        ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9), ("-2 * -3", 6), ("10 / 4", 2.5), ("2 - 3 - 4", -5),
        ("8 / 2 / 2", 2), ("--3", 3), ("min(3, 1, 2)", 1), ("max(1, 5)", 5), ("max(7)", 7), ("abs(-4)", 4),
        ("1 < 2", 1), ("2 <= 1", 0), ("3 >= 3", 1), ("3 > 4", 0), ("2 == 2", 1), ("2 != 2", 0),
        ("1 && 0", 0), ("1 || 0", 1), ("!0", 1), ("!3", 0), ("1 < 2 && 3 > 2", 1), ("1 + 1 == 2 || 0", 1),
        ("1.5e2", 150), (".5", 0.5), ("2.25", 2.25), ("  7\t", 7), ("-(2 + 3)", -5), ("min(abs(-2), 3) * 2", 4),
    ])
    func evaluates(_ text: String, _ expected: Double) throws {
        #expect(try Formula(text).evaluate([:]) == expected)
    }

    @Test func readsVariablesWithDotsAndUnderscores() throws {
        let e = try Formula("files_survived.commit_1 >= files * 0.9 && answer.q1 == 3")
        let vars = ["files_survived.commit_1": 95.0, "files": 100, "answer.q1": 3]
        #expect(try e.evaluate(vars) == 1)
        #expect(try e.evaluate(vars.merging(["files_survived.commit_1": 80]) { $1 }) == 0)
        #expect(e.identifiers == ["files_survived.commit_1", "files", "answer.q1"])
    }

    @Test func identifiersLeaveOutFunctionNames() throws {
        #expect(try Formula("max(a, min(b, 2)) + abs(c)").identifiers == ["a", "b", "c"])
        #expect(try Formula("1 + 2").identifiers.isEmpty)
    }

    @Test func andOrSkipTheSideThatCannotMatter() throws {
        #expect(try Formula("0 && nothing").evaluate([:]) == 0)
        #expect(try Formula("1 || nothing").evaluate([:]) == 1)
    }

    @Test(arguments: [
        ("(1 + 2", 7, "expected ')' at column 7"),
        ("1 +", 4, "expected a number, a name or '(' at the end"),
        ("1 = 2", 3, "write == to compare"),
        ("1 & 2", 3, "write && for and"),
        ("foo(1)", 1, "unknown function 'foo' (functions: min, max, abs)"),
        ("abs(1, 2)", 1, "abs takes one value"),
        ("min()", 1, "min needs at least one value"),
        ("2x", 2, "expected an operator after the number"),
        ("Files + 1", 1, "names are lowercase"),
        ("1 2", 3, "expected an operator or the end"),
        ("", 1, "expected a number"),
        ("1 # 2", 3, "unexpected character '#'"),
        ("max(1, 2", 9, "expected ')'"),
        ("1.", 3, "expected a digit after the decimal point"),
        ("* 2", 1, "found '*'"),
    ])
    func syntaxErrorsNameTheColumn(_ text: String, _ column: Int, _ fragment: String) {
        #expect {
            _ = try Formula(text)
        } throws: { error in
            guard let error = error as? FormulaError else { return false }
            return error.column == column && error.description.contains(fragment)
        }
    }

    @Test func unknownNameListsTheKnownOnes() throws {
        let e = try Formula("a + bogus")
        #expect {
            _ = try e.evaluate(["a": 1, "b": 2])
        } throws: { error in
            "\(error)" == "unknown name 'bogus' (known: a, b) at column 5"
        }
    }

    @Test func unknownFilteredNamePrefersNamesWithTheSameRoot() throws {
        let e = try Formula("mount_ms.commit_2")
        #expect {
            _ = try e.evaluate(["mount_ms": 1, "mount_ms.commit_1": 2, "files": 3])
        } throws: { error in
            "\(error)".contains("(known: mount_ms, mount_ms.commit_1)")
        }
    }

    @Test func divisionByZeroIsAnErrorAtTheOperator() throws {
        #expect {
            _ = try Formula("1 / (a - a)").evaluate(["a": 3])
        } throws: { error in
            (error as? FormulaError) == FormulaError(column: 3, "division by zero")
        }
    }

    @Test func nonFiniteResultIsAnError() throws {
        #expect(throws: FormulaError.self) { _ = try Formula("1e308 * 10").evaluate([:]) }
    }

    @Test func textLongerThan1000CharactersIsRefused() throws {
        let long = String(repeating: "1+", count: 500) + "1"
        #expect {
            _ = try Formula(long)
        } throws: { error in
            (error as? FormulaError)?.column == 1001 && "\(error)".contains("longer than 1000")
        }
        let fits = String(repeating: "1+", count: 499) + "1"
        #expect(try Formula(fits).evaluate([:]) == 500)
    }

    @Test(arguments: [
        String(repeating: "(", count: 65) + "1" + String(repeating: ")", count: 65),
        String(repeating: "-", count: 65) + "1",
        String(repeating: "!", count: 200) + "1",
        String(repeating: "abs(", count: 65) + "1" + String(repeating: ")", count: 65),
    ])
    func nestingDeeperThan64IsRefused(_ text: String) {
        #expect {
            _ = try Formula(text)
        } throws: { error in
            "\(error)".contains("nested too deeply")
        }
    }

    @Test func nestingOf64Works() throws {
        let text = String(repeating: "(", count: 64) + "1" + String(repeating: ")", count: 64)
        #expect(try Formula(text).evaluate([:]) == 1)
    }
}
