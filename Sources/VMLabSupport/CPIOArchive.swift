import Foundation

/// A `newc` cpio archive, the format of a Linux initramfs. Written in-process so device
/// nodes (/dev/console) need no privileges.
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
}
