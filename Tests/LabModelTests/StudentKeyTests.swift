import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards student keys: the documented derivation, that a key differs per student and per
/// secret, and that a student's key gives exactly the values the grader derives from the secret.
@Suite("StudentKey")
struct StudentKeyTests {
    static let secret = StudentParametersTests.secret

    @Test func followsTheDocumentedDerivation() {
        // Computed independently: HMAC-SHA256(secret, "vmlab/student-key/1/alice"), then
        // HMAC-SHA256(key, "vmlab/1/journal-replay/commit") and .../banner.
        let key = StudentKey(student: "alice", secret: Self.secret)
        #expect(key.hex == "6ba38c569e4c74f31f4c600ed164082ba97b51792ec38c0ffea8fb7eb7ee856a")
        let values = key.values(for: StudentParametersTests.lab())
        #expect(values["commit"] == "853")
        #expect(values["banner"] == "hello-b1afc8")
    }

    @Test func isDeterministicAndDiffersPerStudentAndPerSecret() {
        let alice = StudentKey(student: "alice", secret: Self.secret)
        #expect(alice == StudentKey(student: "alice", secret: Self.secret))
        #expect(alice.bytes.count == StudentKey.byteCount)
        #expect(alice.bytes != StudentKey(student: "bob", secret: Self.secret).bytes)
        #expect(alice.bytes != StudentKey(student: "alice", secret: Data("another secret, 16+ chars".utf8)).bytes)
        let keys = Set((0..<200).map { StudentKey(student: "s\($0)", secret: Self.secret).bytes })
        #expect(keys.count == 200)
    }

    @Test func givesExactlyTheValuesTheGraderDerivesFromTheSecret() {
        let lab = StudentParametersTests.lab()
        for student in ["alice", "bob", "s1234@uni.example", "x"] {
            let key = StudentKey(student: student, secret: Self.secret)
            #expect(key.values(for: lab) == StudentParameters.derive(lab: lab, student: student, secret: Self.secret))
            #expect(key.parameters(for: lab) == StudentParameters.parameters(lab: lab, student: student, secret: Self.secret))
            #expect(StudentIdentity.key(key).key.values(for: lab)
                    == StudentIdentity.secret(student: student, secret: Self.secret).key.values(for: lab))
        }
    }

    @Test func anotherStudentsKeyGivesOtherValues() {
        let lab = StudentParametersTests.lab()
        let bob = StudentKey(student: "bob", secret: Self.secret)
        #expect(bob.values(for: lab) != StudentParameters.derive(lab: lab, student: "alice", secret: Self.secret))
    }

    @Test func rejectsAWrongLengthOrABadIdAndNeverPrintsTheKey() {
        #expect(StudentKey(student: "alice", bytes: Data(repeating: 1, count: 31)) == nil)
        #expect(StudentKey(student: "../x", bytes: Data(repeating: 1, count: 32)) == nil)
        let key = StudentKey(student: "alice", secret: Self.secret)
        #expect("\(key)" == "student key of alice")
        #expect(!"\(StudentIdentity.key(key))".contains(key.hex))
    }
}
