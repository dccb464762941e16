import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VMLabSupport

/// A student key on disk: one line `vmlab-student-key v1 STUDENT HEX` (64 hex digits), mode
/// 0600. The file names its student, so starting a lab with it needs no separate id, and a
/// key handed to the wrong student is caught rather than giving another student's values.
public enum StudentKeyFile {
    static let magic = "vmlab-student-key"
    static let version = "v1"
    /// A key file is one short line; anything bigger is not one, so reading stops there.
    public static let maxBytes = 4096
    /// What a key file is called in a folder of them.
    public static let fileExtension = "key"

    /// The file's text: one line and a newline.
    public static func text(of key: StudentKey) -> String {
        "\(magic) \(version) \(key.student) \(key.hex)\n"
    }

    /// Reads and checks the key file at `url`. Only a regular file of at most 4 KiB is read,
    /// so a FIFO, a device or a huge file cannot hang or swamp vmlab.
    public static func read(_ url: URL) throws -> StudentKey {
        try parse(try readBounded(url), file: url.path)
    }

    /// The key in `text`, the content of key file `file` (named in every error).
    public static func parse(_ text: String, file: String) throws -> StudentKey {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .filter { !$0.text.isEmpty }
        guard let line = lines.first else {
            throw problem(file, nil, "", "is empty; a student key file is one line `\(magic) \(version) STUDENT KEY`")
        }
        if let extra = lines.dropFirst().first {
            throw problem(file, extra.number, "", "has more than one line; a student key file is one line")
        }
        let fields = line.text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 4, fields[0] == magic else {
            throw problem(file, line.number, "", "is not a vmlab student key: expected `\(magic) \(version) STUDENT KEY`")
        }
        guard fields[1] == version else {
            throw problem(file, line.number, "version", "\(fields[1].debugDescription) is not supported; this vmlab reads \(version)")
        }
        if let idProblem = studentIDProblem(fields[2]) {
            throw problem(file, line.number, "student", idProblem)
        }
        let hex = fields[3]
        guard hex.count == StudentKey.byteCount * 2 else {
            throw problem(file, line.number, "key", "has \(hex.count) characters; a key is \(StudentKey.byteCount * 2) hex digits")
        }
        guard let bytes = bytes(ofHex: hex), let key = StudentKey(student: fields[2], bytes: bytes) else {
            throw problem(file, line.number, "key", "is not hex: use only the digits 0-9 and a-f")
        }
        return key
    }

    /// Writes `key` to `url` with mode 0600 from the start. An existing file is an error unless
    /// `replace`; a symbolic link is never followed, so a planted link cannot redirect a key.
    public static func write(_ key: StudentKey, to url: URL, replace: Bool) throws {
        // O_NONBLOCK: a FIFO planted under the name fails to open instead of hanging.
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL)
        let fd = open(url.path, flags, 0o600)
        if fd < 0 {
            if errno == EEXIST { throw VMLabError(.alreadyExists, "\(url.path) already exists") }
            throw VMLabError(.failed, "cannot write the student key \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // A replaced file keeps its old mode through O_TRUNC; a key is private either way.
        guard fchmod(fd, 0o600) == 0 else {
            throw VMLabError(.failed, "cannot make \(url.path) private: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text(of: key).utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            unlink(url.path)
            throw VMLabError(.failed, "cannot write the student key \(url.path)")
        }
    }

    static func readBounded(_ url: URL) throws -> String {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; the type check follows.
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code: VMLabError.Code = errno == ENOENT ? .notFound : .failed
            throw VMLabError(code, "cannot read the student key \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw problem(url.path, nil, "", "is not a regular file; a student key is a one-line text file")
        }
        guard status.st_size <= maxBytes else {
            throw problem(url.path, nil, "", "is \(status.st_size) bytes; a student key file is one line of at most \(maxBytes) bytes")
        }
        var data = [UInt8](repeating: 0, count: maxBytes + 1)
        var count = 0
        while count < data.count {
            let n = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw VMLabError(.failed, "cannot read the student key \(url.path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            count += n
        }
        guard count <= maxBytes else {
            throw problem(url.path, nil, "", "is larger than \(maxBytes) bytes; a student key file is one line")
        }
        guard let text = String(validating: data.prefix(count), as: UTF8.self) else {
            throw problem(url.path, nil, "", "is not UTF-8 text; a student key file is one line of text")
        }
        return text
    }

    static func bytes(ofHex hex: String) -> Data? {
        var bytes = Data()
        var high: UInt8?
        for character in hex.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? bytes : nil
    }

    /// One line, `file[:line]: [field: ]message`, as an error a person can act on.
    static func problem(_ file: String, _ line: Int?, _ field: String, _ message: String) -> VMLabError {
        VMLabError(.invalidInput, SpecError(file: file, line: line, field: field, message: message).description)
    }
}
