import Foundation
@testable import Grading
@testable import LabModel
import Testing

/// A reference solution's answers: text as written, or `= formula` rounded to 4 decimals.
struct ReferenceAnswerTests {
    @Test func referenceAnswersAreTextOrRoundedArithmetic() throws {
        #expect(try Coursework.referenceAnswer("writeback", variables: [:]) == "writeback")
        #expect(try Coursework.referenceAnswer("= a / 3", variables: ["a": 2]) == "0.6667")
        #expect(try Coursework.referenceAnswer(" = a * 2", variables: ["a": 21]) == "42")
        #expect(throws: FormulaError.self) { try Coursework.referenceAnswer("= b", variables: ["a": 1]) }
    }
}
