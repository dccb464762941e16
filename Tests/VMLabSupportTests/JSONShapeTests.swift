import Foundation
import Testing
@testable import VMLabSupport

/// Guards the pre-decoding pass over JSON: duplicate keys (however they are spelled),
/// container sizes, string lengths and nesting are refused before JSONDecoder runs.
@Suite("JSON shape")
struct JSONShapeTests {
    static var shape: JSONShape {
        var shape = JSONShape()
        shape.maxDepth = 4
        shape.counts = ["runs": 2, "answers": 3, "runs[].parameters": 2]
        shape.maps = ["answers", "runs[].parameters"]
        shape.strings = ["answers.*": 10]
        shape.defaultString = 20
        shape.defaultCount = 5
        return shape
    }

    func problem(_ json: String) -> String? {
        do {
            try Self.shape.check(Data(json.utf8))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func aDocumentWithinTheLimitsPasses() {
        #expect(problem(#"{"runs": [{"parameters": {"a": "1", "b": "2"}}, {}], "answers": {"q1": "4", "q\"2": "x\\\""}, "n": -1.5e3, "t": [true, false, null]}"#) == nil)
        #expect(problem(" { } ") == nil)
    }

    @Test(arguments: [
        (#"{"a": 1, "a": 2}"#, "the document has the key 'a' twice (JSON readers disagree on which value counts)"),
        (#"{"answers": {"q1": "3", "q\u0031": "5"}}"#, #"answers has the key 'q1' twice"#),
        (#"{"answers": {"é": "1", "e\u0301": "2"}}"#, "answers has the key 'é' twice"),
        (#"{"runs": [{"parameters": {"x": "1", "x": "1"}}]}"#, "runs[0].parameters has the key 'x' twice"),
    ])
    func duplicateKeysAreRefusedHoweverSpelled(_ json: String, _ reason: String) {
        #expect(problem(json)?.hasPrefix(reason) == true, "\(String(describing: problem(json)))")
    }

    @Test(arguments: [
        (#"{"runs": [1, 2, 3]}"#, "too many runs: more than the 2 allowed"),
        (#"{"answers": {"a": "1", "b": "2", "c": "3", "d": "4"}}"#, "too many answers: more than the 3 allowed"),
        (#"{"runs": [{"parameters": {"a": "1", "b": "2", "c": "3"}}]}"#, "too many parameters in runs[0]: more than the 2 allowed"),
        (#"{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}"#, "too many fields: more than the 5 allowed"),
        (#"{"answers": {"q": "12345678901"}}"#, #"answers["q"] is longer than 10 bytes"#),
        (#"{"lab": "123456789012345678901"}"#, "lab is longer than 20 bytes"),
        (#"{"x": [[[[1]]]]}"#, "x[0][0][0] is nested deeper than 4 levels"),
        (#"{"n": 1234567890123456789012345678901234567890123456789012345678901234567890}"#, "a number in n is longer"),
    ])
    func limitsAreCheckedAsTheBytesGoBy(_ json: String, _ reason: String) {
        #expect(problem(json)?.hasPrefix(reason) == true, "\(String(describing: problem(json)))")
    }

    @Test(arguments: [
        "", "{", #"{"a" 1}"#, #"{"a": }"#, "[1,]x", #"{"a": "open}"#, "nul", #"{"a": 1} 2"#, "PK\u{3}\u{4}",
    ])
    func malformedJSONIsASyntaxProblem(_ json: String) throws {
        #expect(throws: JSONShape.Problem.self) { try Self.shape.check(Data(json.utf8)) }
        do { try Self.shape.check(Data(json.utf8)) } catch {
            #expect(error.kind == .syntax && error.message.hasPrefix("not valid JSON at byte"))
        }
    }

    @Test func deepNestingIsRefusedWithoutRecursion() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(problem(deep)?.hasPrefix("[0][0][0][0] is nested deeper than 4 levels") == true)
    }
}
