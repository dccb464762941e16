import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file someone else made (a student's bundle) without trusting it: only a regular
/// file is read (a FIFO would block, /dev/zero never ends, a directory is no file), and never
/// more than the limit plus one byte, so a 1.5 GiB file costs the limit, not 1.5 GiB.
public enum BoundedFile {
    /// Why a file was not read, in one line.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case cannotOpen(String)
        case notARegularFile(String)
        case tooLarge(limit: Int)
        case readFailed(String)

        public var description: String {
            switch self {
            case .cannotOpen(let why): return "cannot open it: \(why)"
            case .notARegularFile(let kind): return "it is \(kind), not a regular file"
            case .tooLarge(let limit): return "it is larger than the limit of \(byteCount(limit))"
            case .readFailed(let why): return "cannot read it: \(why)"
            }
        }
    }

    /// The contents of the regular file at `path` if it has at most `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(Problem) -> Data {
        let (fd, size) = try openRegularFile(path, refusingSymbolicLinks: false)
        defer { close(fd) }
        if size > limit { throw .tooLarge(limit: limit) }
        // The size may change while reading: read until EOF, growing the buffer as needed,
        // but never past limit + 1 bytes.
        var data = Data(count: Swift.min(size, limit) + 1)
        var filled = 0
        while true {
            let capacity = data.count
            let outcome: Int = data.withUnsafeMutableBytes { raw in
                while filled < capacity {
                    let n = Glibc.read(fd, raw.baseAddress! + filled, capacity - filled)
                    if n < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        return -Int(errno)
                    }
                    if n == 0 { return 0 }
                    filled += n
                }
                return 1
            }
            if outcome < 0 { throw .readFailed(String(cString: strerror(Int32(-outcome)))) }
            if outcome == 0 { break }  // end of file
            if filled > limit { throw .tooLarge(limit: limit) }
            data.count = Swift.min(capacity * 2, limit + 1)  // the file grew while being read
        }
        data.count = filled
        return data
    }

    /// Copies the regular file at `path` to `destination` (made anew, mode 0644) if it has
    /// at most `limit` bytes, streaming, so a large file costs no memory. A symbolic link is
    /// refused (`O_NOFOLLOW`): the file must be the one named, not one it points to.
    public static func copy(_ path: String, to destination: String, limit: Int) throws(Problem) {
        let (fd, size) = try openRegularFile(path, refusingSymbolicLinks: true)
        defer { close(fd) }
        if size > limit { throw .tooLarge(limit: limit) }
        let out = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard out >= 0 else { throw .cannotOpen("\(destination): \(String(cString: strerror(errno)))") }
        defer { close(out) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .readFailed(String(cString: strerror(errno)))
            }
            if n == 0 { return }
            total += n
            // The file may grow while it is copied: the limit holds for what is read.
            if total > limit { throw .tooLarge(limit: limit) }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { Glibc.write(out, $0.baseAddress! + written, n - written) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw .readFailed("writing \(destination): \(String(cString: strerror(errno)))")
                }
                written += w
            }
        }
    }

    /// At most the first `count` bytes of the regular file at `path` (a header to check),
    /// and the file's size. Symbolic links are refused, as in `copy`.
    public static func head(_ path: String, count: Int) throws(Problem) -> (bytes: Data, size: Int) {
        let (fd, size) = try openRegularFile(path, refusingSymbolicLinks: true)
        defer { close(fd) }
        var data = Data(count: count)
        var filled = 0
        while filled < count {
            let n = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, count - filled) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .readFailed(String(cString: strerror(errno)))
            }
            if n == 0 { break }
            filled += n
        }
        data.count = filled
        return (data, size)
    }

    /// Opens `path` for reading if it is a regular file, and gives its size when opened; the
    /// caller closes the descriptor. With `refusingSymbolicLinks` (`O_NOFOLLOW`) a link is
    /// refused, so the file read is the one named, not one it points to.
    private static func openRegularFile(
        _ path: String, refusingSymbolicLinks: Bool
    ) throws(Problem) -> (fd: Int32, size: Int) {
        // O_NONBLOCK: opening a FIFO with no writer must not hang; it is refused just below.
        var flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
        if refusingSymbolicLinks { flags |= O_NOFOLLOW }
        let fd = open(path, flags)
        guard fd >= 0 else {
            throw refusingSymbolicLinks && errno == ELOOP
                ? .notARegularFile("a symbolic link") : .cannotOpen(String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(why)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            close(fd)
            throw .notARegularFile(kind(of: type))
        }
        return (fd, Int(info.st_size))
    }

    static func kind(of type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }

    /// `64 MiB`, `512 bytes`.
    public static func byteCount(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(shortNumber(Double(bytes) / Double(1 << 20))) MiB"
            : bytes >= 1 << 10 ? "\(shortNumber(Double(bytes) / Double(1 << 10))) KiB" : "\(bytes) bytes"
    }
}

extension BoundedFile {
    /// The bytes of `url` (a regular file of at most `maxBytes`), or an error naming it.
    public static func read(_ url: URL, maxBytes: Int) throws(VMLabError) -> Data {
        do {
            return try read(url.path, limit: maxBytes)
        } catch {
            let missing = if case .cannotOpen(let why) = error, why.contains("No such file") { true } else { false }
            throw VMLabError(missing ? .notFound : .invalidInput, "\(url.path): \(error)")
        }
    }

    /// The text of `url`: a regular file of at most `maxBytes` holding UTF-8.
    public static func text(_ url: URL, maxBytes: Int) throws(VMLabError) -> String {
        let data = try read(url, maxBytes: maxBytes)
        if let offset = firstInvalidUTF8(data) {
            throw VMLabError(.invalidInput, "\(url.path) is not UTF-8 text: invalid byte at offset \(offset)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The offset of the first byte that is not valid UTF-8 (NUL counts as invalid: it
    /// marks a binary file), or nil when all of `data` is text.
    public static func firstInvalidUTF8(_ data: Data) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = data.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == 0 { return offset }
                offset += encoded.count
            case .error:
                return offset
            case .emptyInput:
                return nil
            }
        }
    }
}
