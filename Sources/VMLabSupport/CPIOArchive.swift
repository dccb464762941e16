import Foundation

/// A `newc` cpio archive, the format of a Linux initramfs. Written in-process so device
/// nodes (/dev/console) need no privileges; read back to take files out of supermin's initrd.
public struct CPIOArchive: Sendable {
    public enum Entry: Sendable {
        case directory(String)
        case file(String, contents: Data, mode: UInt32)
        case characterDevice(String, major: UInt32, minor: UInt32)
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public func encoded() -> Data {
        var out = Data()
        var inode: UInt32 = 1
        func append(name: String, mode: UInt32, contents: Data = Data(), rdev: (UInt32, UInt32) = (0, 0)) {
            let fields: [UInt32] = [inode, mode, 0, 0, 1, 0, UInt32(contents.count), 0, 0, rdev.0, rdev.1,
                                    UInt32(name.utf8.count + 1), 0]
            inode += 1
            out.append(Data("070701".utf8))
            for f in fields { out.append(Data(String(format: "%08X", f).utf8)) }
            out.append(Data(name.utf8))
            out.append(0)
            pad()
            out.append(contents)
            pad()
        }
        func pad() {
            while out.count % 4 != 0 { out.append(0) }
        }
        for entry in entries {
            switch entry {
            case .directory(let name): append(name: name, mode: 0o040755)
            case let .file(name, contents, mode): append(name: name, mode: 0o100000 | mode, contents: contents)
            case let .characterDevice(name, major, minor): append(name: name, mode: 0o020600, rdev: (major, minor))
            }
        }
        append(name: "TRAILER!!!", mode: 0)
        return out
    }

    /// The regular files of a newc archive, by name (directories and devices are skipped).
    /// Throws on anything that is not well-formed newc: the input is a file on disk.
    public static func files(in data: Data) throws -> [(name: String, contents: Data, mode: UInt32)] {
        let bytes = [UInt8](data)
        var files: [(name: String, contents: Data, mode: UInt32)] = []
        var at = 0
        func align(_ n: Int) -> Int { (n + 3) & ~3 }
        func bad(_ why: String) -> VMLabError { VMLabError(.invalidInput, "not a newc cpio archive: \(why) at byte \(at)") }
        while true {
            guard at + 110 <= bytes.count else { throw bad("truncated header") }
            guard bytes[at ..< at + 6].elementsEqual("070701".utf8) else { throw bad("no 070701 magic") }
            var fields: [Int] = []
            for i in 0..<13 {
                let start = at + 6 + i * 8
                guard let value = Int(String(decoding: bytes[start ..< start + 8], as: UTF8.self), radix: 16) else {
                    throw bad("a header field is not hexadecimal")
                }
                fields.append(value)
            }
            let (mode, size, nameSize) = (fields[1], fields[6], fields[11])
            let nameStart = at + 110
            guard nameSize >= 1, nameStart + nameSize <= bytes.count else { throw bad("truncated name") }
            let name = String(decoding: bytes[nameStart ..< nameStart + nameSize - 1], as: UTF8.self)
            let dataStart = align(nameStart + nameSize)
            guard dataStart + size <= bytes.count else { throw bad("truncated contents of \(name)") }
            if name == "TRAILER!!!" { return files }
            if mode & 0o170000 == 0o100000 {
                files.append((name, Data(bytes[dataStart ..< dataStart + size]), UInt32(mode & 0o7777)))
            }
            at = align(dataStart + size)
        }
    }
}
