import Crypto
import Foundation
import VMLabSupport

/// Per-student parameter values: each student's lab differs (so copied results show), yet the
/// teacher can recompute any student's values from the course secret and the id alone, with
/// no list of assignments to keep. The values go through the student's key (`StudentKey`),
/// which is all a student's machine needs.
public enum StudentParameters {
    /// The environment variable holding the course secret (text, at least 16 characters).
    public static let environmentVariable = "VMLAB_COURSE_SECRET"
    /// The secret file under the vmlab home, used when the variable is not set.
    public static let secretFileName = "course-secret"
    static let minimumSecretLength = 16

    /// The value of every `per-student` parameter of `lab` for `student`, by name: the values
    /// of the student's key (`StudentKey(student:secret:)`), so the grader, holding the
    /// secret, gets exactly what the student's machine got from the key file.
    public static func derive(lab: LabSpec, student: String, secret: Data) -> [String: String] {
        StudentKey(student: student, secret: secret).values(for: lab)
    }

    /// Every parameter of `lab` as `student` runs it: defaults, then the per-student values.
    public static func parameters(lab: LabSpec, student: String, secret: Data) -> [String: String] {
        StudentKey(student: student, secret: secret).parameters(for: lab)
    }

    /// One value from a MAC's first 8 bytes as a big-endian number h: int → min + h %
    /// (max-min+1); number → min + h/2^64 · (max-min), 3 decimals; choice → values[h % count];
    /// string → default-XXXXXX (the MAC's first 6 hex digits). An int or number without both
    /// bounds has no range to draw from and keeps its default.
    static func value(of parameter: ParameterSpec, h: UInt64, mac: [UInt8]) -> String {
        switch parameter.kind {
        case let .int(min?, max?) where min <= max:
            // Two's-complement arithmetic keeps even a full Int range exact.
            let width = UInt64(bitPattern: Int64(max) &- Int64(min)) &+ 1
            let offset = width == 0 ? h : h % width
            return String(Int(Int64(min) &+ Int64(bitPattern: offset)))
        case let .number(min?, max?) where min <= max:
            let fraction = Double(h) / 18_446_744_073_709_551_616.0
            let raw = ((min + fraction * (max - min)) * 1000).rounded() / 1000
            return formatNumber(Swift.min(Swift.max(raw, min), max))
        case .choice(let values) where !values.isEmpty:
            return values[Int(h % UInt64(values.count))]
        case .string:
            let hex = mac.prefix(3).map { String(format: "%02x", $0) }.joined()
            return "\(parameter.defaultValue)-\(hex)"
        default:
            return parameter.defaultValue
        }
    }

    /// The course secret: `$VMLAB_COURSE_SECRET` when set (at least 16 characters), else the
    /// text of `<home>/course-secret`, which is created (32 random bytes as hex, mode 0600)
    /// the first time. Either way the secret is the text's UTF-8 bytes, so pasting the file's
    /// content into the variable on another machine gives the same values.
    public static func secret(from environment: [String: String], home: URL) throws -> Data {
        if let text = environment[environmentVariable], !text.isEmpty {
            guard text.count >= minimumSecretLength else {
                throw VMLabError(.invalidInput, "$\(environmentVariable) has \(text.count) characters; "
                                 + "use at least \(minimumSecretLength) (for example: openssl rand -hex 32)")
            }
            return Data(text.utf8)
        }
        let file = home.appendingPathComponent(secretFileName)
        if !FileManager.default.fileExists(atPath: file.path) {
            try createSecretFile(file)
        }
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw VMLabError(.failed, "cannot read the course secret \(file.path)", cause: error)
        }
        guard text.count >= minimumSecretLength else {
            throw VMLabError(.invalidInput, "the course secret \(file.path) has \(text.count) characters; "
                             + "it needs at least \(minimumSecretLength) (delete it to have a new one made)")
        }
        return Data(text.utf8)
    }

    /// Creates the secret with O_EXCL and mode 0600 from the start, so it is never readable by
    /// others, not even for a moment; losing a race to another vmlab is fine (its file is used).
    static func createSecretFile(_ file: URL) throws {
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw VMLabError(.failed, "cannot create \(file.deletingLastPathComponent().path)", cause: error)
        }
        let key = SymmetricKey(size: .bits256)
        let hex = key.withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() } + "\n"
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            if errno == EEXIST { return }
            let reason = String(cString: strerror(errno))
            throw VMLabError(.failed, "cannot create the course secret \(file.path): \(reason)")
        }
        defer { close(fd) }
        let bytes = Array(hex.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            unlink(file.path)
            throw VMLabError(.failed, "cannot write the course secret \(file.path)")
        }
    }
}
