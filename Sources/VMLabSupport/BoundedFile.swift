import Foundation

/// Reading a file a person or a program outside vmlab wrote (a lab, a recipe, a rubric, a
/// bundle): only regular files, never more than a cap, and text only when it is UTF-8. A
/// FIFO would block forever and /dev/zero never ends, so both are refused before reading.
public enum BoundedFile {
    /// The bytes of `url`, which must be a regular file of at most `maxBytes`.
    public static func read(_ url: URL, maxBytes: Int) throws(VMLabError) -> Data {
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw VMLabError(errno == ENOENT ? .notFound : .invalidInput, "cannot read \(url.path): \(reason)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw VMLabError(.invalidInput, "cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            let kind = switch type {
            case S_IFDIR: "a folder"
            case S_IFIFO: "a FIFO"
            case S_IFCHR, S_IFBLK: "a device"
            case S_IFSOCK: "a socket"
            default: "not a regular file"
            }
            throw VMLabError(.invalidInput, "\(url.path) is \(kind), not a regular file")
        }
        guard info.st_size <= maxBytes else {
            throw VMLabError(.invalidInput, "\(url.path) has \(info.st_size) bytes; the limit is \(maxBytes)")
        }
        // The size can change under us: never read more than the cap plus one byte.
        var data = Data(count: maxBytes + 1)
        var total = 0
        while total <= maxBytes {
            let n = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, maxBytes + 1 - total) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw VMLabError(.failed, "reading \(url.path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            total += n
        }
        guard total <= maxBytes else {
            throw VMLabError(.invalidInput, "\(url.path) grew past the limit of \(maxBytes) bytes while being read")
        }
        return data.prefix(total)
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
