import Crypto
import Foundation
import VMLabSupport

/// One student's key: HMAC-SHA256(course secret, "vmlab/student-key/1/" + student id). The
/// student's per-student values derive from it alone, so a student's machine holds this key
/// and not the course secret: a student can compute their own values, not anyone else's,
/// while the grader, holding the secret, derives every key again with no list to keep.
public struct StudentKey: Sendable, Equatable, CustomStringConvertible {
    public static let byteCount = 32
    static let context = "vmlab/student-key/1/"

    /// The student the key belongs to (a valid student id).
    public let student: String
    /// The 32 key bytes.
    public let bytes: Data

    /// `student`'s key, derived from the course secret (what the instructor and grader do).
    public init(student: String, secret: Data) {
        self.student = student
        self.bytes = Data(HMAC<SHA256>.authenticationCode(
            for: Data((Self.context + student).utf8), using: SymmetricKey(data: secret)))
    }

    /// A key as read from a key file; nil when the id is not valid or the key is not 32 bytes.
    public init?(student: String, bytes: Data) {
        guard studentIDProblem(student) == nil, bytes.count == Self.byteCount else { return nil }
        self.student = student
        self.bytes = bytes
    }

    /// The key as 64 lowercase hex digits.
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Never the key itself, so a key in an error message or a log does not leak.
    public var description: String { "student key of \(student)" }

    /// The value of every `per-student` parameter of `lab`, by name. Each comes from
    /// HMAC-SHA256(key, "vmlab/1/LAB/PARAM") through `StudentParameters.value(of:h:mac:)`.
    public func values(for lab: LabSpec) -> [String: String] {
        var values: [String: String] = [:]
        for parameter in lab.parameters where parameter.perStudent {
            let mac = Array(HMAC<SHA256>.authenticationCode(
                for: Data("vmlab/1/\(lab.name)/\(parameter.name)".utf8), using: SymmetricKey(data: bytes)))
            let h = mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            values[parameter.name] = StudentParameters.value(of: parameter, h: h, mac: mac)
        }
        return values
    }

    /// Every parameter of `lab` as this student runs it: defaults, then the per-student values.
    public func parameters(for lab: LabSpec) -> [String: String] {
        var values = lab.defaultValues
        values.merge(self.values(for: lab)) { _, derived in derived }
        return values
    }
}
