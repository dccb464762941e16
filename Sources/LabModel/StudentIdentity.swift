import Foundation

/// Who a lab is started for, and what their per-student values derive from: the student's
/// own key (a student's machine), or the course secret (a course run on a single machine,
/// where whoever runs vmlab could derive every student's values).
public enum StudentIdentity: Sendable, Equatable {
    case key(StudentKey)
    case secret(student: String, secret: Data)

    /// The student id the instance is recorded under.
    public var student: String {
        switch self {
        case .key(let key): key.student
        case .secret(let student, _): student
        }
    }

    /// The student's key: as given, or derived from the course secret.
    public var key: StudentKey {
        switch self {
        case .key(let key): key
        case .secret(let student, let secret): StudentKey(student: student, secret: secret)
        }
    }
}
