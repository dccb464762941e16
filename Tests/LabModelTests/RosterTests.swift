import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards roster parsing: an optional header, blank lines and extra columns are fine; bad ids
/// and duplicates are reported together, each with its file and line.
@Suite("Roster")
struct RosterTests {
    static func problems(_ text: String) -> [String] {
        do {
            _ = try Roster.parse(text, file: "roster.csv")
            return []
        } catch let error as SpecErrors {
            return error.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func readsIdsInOrderWithOrWithoutAHeader() throws {
        #expect(try Roster.parse("s1\ns2\n", file: "r").students == ["s1", "s2"])
        #expect(try Roster.parse("student,name\ns1,Ada Lovelace\n\n  s2 , Alan Turing\n", file: "r").students == ["s1", "s2"])
        #expect(try Roster.parse("\u{FEFF}ID\r\n\"s1\"\r\ns2\r\n", file: "r").students == ["s1", "s2"])
    }

    @Test func aHeaderIsOnlyTheFirstRow() {
        #expect(Self.problems("s1\nstudent\n").isEmpty, "later `student` is a valid id")
        #expect(Self.problems("s1\nid\nid\n") == ["roster.csv:3: student: id is already on line 2; list each student once"])
    }

    @Test func reportsEveryBadIdAndDuplicateWithItsLine() {
        let problems = Self.problems("student\ns1\n\ns2\n../etc,x\ns1\nbad id\n")
        #expect(problems.count == 3, "\(problems)")
        #expect(problems[0].hasPrefix("roster.csv:5: student: student id \"../etc\" is not valid"))
        #expect(problems[1] == "roster.csv:6: student: s1 is already on line 2; list each student once")
        #expect(problems[2].hasPrefix("roster.csv:7: student: student id \"bad id\""))
        #expect(Self.problems("s1\r\n\r\ns1\r\n") == ["roster.csv:3: student: s1 is already on line 1; list each student once"])
    }

    @Test func anEmptyRosterIsAnError() {
        #expect(Self.problems("student\n\n") == ["roster.csv: lists no students; write one student id per line"])
        #expect(Self.problems("") == ["roster.csv: lists no students; write one student id per line"])
    }

    @Test func loadNamesAMissingFile() {
        let error = #expect(throws: VMLabError.self) { _ = try Roster.load(URL(fileURLWithPath: "/nonexistent/roster.csv")) }
        #expect(error?.message.contains("/nonexistent/roster.csv") == true)
    }
}
