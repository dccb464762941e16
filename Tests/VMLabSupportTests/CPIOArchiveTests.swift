import Foundation
import Testing
@testable import VMLabSupport

/// Guards the in-process newc cpio writer used for the KVM probe's initramfs (parsed back byte by byte).
@Suite("CPIOArchive")
struct CPIOArchiveTests {
    struct Parsed: Equatable {
        var offset: Int
        var inode, mode, uid, gid, nlink, mtime, fileSize, devMajor, devMinor, rdevMajor, rdevMinor, nameSize, check: UInt32
        var name: String
        var contents: Data
    }

    enum ParseError: Error { case truncated(Int), badMagic(Int), badHex(Int), missingNUL(Int), noTrailer }

    /// An independent newc reader: "070701", 13 eight-hex-digit fields, NUL-terminated name,
    /// padding to 4 after the header+name and after the data.
    static func parse(_ data: Data) throws -> [Parsed] {
        let bytes = [UInt8](data)
        var entries: [Parsed] = []
        var at = 0
        func align(_ n: Int) -> Int { (n + 3) & ~3 }
        while true {
            guard at + 110 <= bytes.count else { throw ParseError.truncated(at) }
            guard String(decoding: bytes[at ..< at + 6], as: UTF8.self) == "070701" else { throw ParseError.badMagic(at) }
            var fields: [UInt32] = []
            for i in 0..<13 {
                let start = at + 6 + i * 8
                let hex = String(decoding: bytes[start ..< start + 8], as: UTF8.self)
                guard hex.allSatisfy(\.isHexDigit), let value = UInt32(hex, radix: 16) else { throw ParseError.badHex(start) }
                fields.append(value)
            }
            let nameSize = Int(fields[11])
            let nameStart = at + 110
            guard nameSize >= 1, nameStart + nameSize <= bytes.count else { throw ParseError.truncated(nameStart) }
            guard bytes[nameStart + nameSize - 1] == 0 else { throw ParseError.missingNUL(nameStart) }
            let name = String(decoding: bytes[nameStart ..< nameStart + nameSize - 1], as: UTF8.self)
            let dataStart = align(nameStart + nameSize)
            let size = Int(fields[6])
            guard dataStart + size <= bytes.count else { throw ParseError.truncated(dataStart) }
            entries.append(Parsed(
                offset: at, inode: fields[0], mode: fields[1], uid: fields[2], gid: fields[3], nlink: fields[4],
                mtime: fields[5], fileSize: fields[6], devMajor: fields[7], devMinor: fields[8],
                rdevMajor: fields[9], rdevMinor: fields[10], nameSize: fields[11], check: fields[12],
                name: name, contents: Data(bytes[dataStart ..< dataStart + size])))
            at = align(dataStart + size)
            if name == "TRAILER!!!" {
                guard at == bytes.count else { throw ParseError.truncated(at) }
                return entries
            }
        }
    }

    static let sample = CPIOArchive(entries: [
        .directory("dev"),
        .directory("bin"),
        .file("init", contents: Data("#!/bin/sh\necho hi\n".utf8), mode: 0o755),
        .file("etc/motd", contents: Data("hello".utf8), mode: 0o644),
        .characterDevice("dev/console", major: 5, minor: 1),
    ])

    @Test func namesAndOrderEndWithTrailer() throws {
        let entries = try Self.parse(Self.sample.encoded())
        #expect(entries.map(\.name) == ["dev", "bin", "init", "etc/motd", "dev/console", "TRAILER!!!"])
    }

    @Test func totalLengthAndEveryHeaderAreFourByteAligned() throws {
        let data = Self.sample.encoded()
        #expect(data.count % 4 == 0)
        let entries = try Self.parse(data)
        #expect(entries.allSatisfy { $0.offset % 4 == 0 })
    }

    @Test func directoryEntry() throws {
        let dir = try #require(try Self.parse(Self.sample.encoded()).first { $0.name == "dev" })
        #expect(dir.mode == 0o040755)
        #expect(dir.fileSize == 0)
        #expect(dir.contents.isEmpty)
        #expect(dir.nameSize == 4)
    }

    @Test func fileEntriesKeepModeSizeAndContents() throws {
        let entries = try Self.parse(Self.sample.encoded())
        let initFile = try #require(entries.first { $0.name == "init" })
        #expect(initFile.mode == 0o100755)
        #expect(initFile.fileSize == 18)
        #expect(initFile.contents == Data("#!/bin/sh\necho hi\n".utf8))
        let motd = try #require(entries.first { $0.name == "etc/motd" })
        #expect(motd.mode == 0o100644)
        #expect(motd.fileSize == 5)
        #expect(motd.contents == Data("hello".utf8))
    }

    @Test func characterDeviceCarriesRdev() throws {
        let console = try #require(try Self.parse(Self.sample.encoded()).first { $0.name == "dev/console" })
        #expect(console.mode & 0o170000 == 0o020000)
        #expect(console.mode == 0o020600)
        #expect(console.rdevMajor == 5)
        #expect(console.rdevMinor == 1)
        #expect(console.fileSize == 0)
    }

    @Test func ownershipAndLinkFields() throws {
        let entries = try Self.parse(Self.sample.encoded()).dropLast()
        #expect(entries.allSatisfy { $0.uid == 0 && $0.gid == 0 && $0.check == 0 })
        #expect(entries.allSatisfy { $0.nlink == 1 })
        #expect(entries.filter { $0.name != "dev/console" }.allSatisfy { $0.rdevMajor == 0 && $0.rdevMinor == 0 })
        #expect(Set(entries.map(\.inode)).count == entries.count)
    }

    @Test func trailerEntry() throws {
        let trailer = try #require(try Self.parse(Self.sample.encoded()).last)
        #expect(trailer.name == "TRAILER!!!")
        #expect(trailer.nameSize == 11)
        #expect(trailer.fileSize == 0)
        #expect(trailer.mode == 0)
    }

    @Test func emptyArchiveIsJustTheTrailer() throws {
        let data = CPIOArchive(entries: []).encoded()
        #expect(data.count == 124)   // 110-byte header + 11-byte name, padded to 124
        #expect(try Self.parse(data).map(\.name) == ["TRAILER!!!"])
    }

    @Test(arguments: 0...8)
    func paddingForEveryContentLength(length: Int) throws {
        let contents = Data(repeating: 0xAB, count: length)
        let data = CPIOArchive(entries: [.file("abc", contents: contents, mode: 0o600)]).encoded()
        #expect(data.count % 4 == 0)
        let entries = try Self.parse(data)
        #expect(entries.first?.contents == contents)
        #expect(entries.map(\.name) == ["abc", "TRAILER!!!"])
    }

    @Test func headerIsUppercaseHex() throws {
        let data = CPIOArchive(entries: [.characterDevice("c", major: 0xAB, minor: 0xCD)]).encoded()
        let header = String(decoding: data.prefix(110), as: UTF8.self)
        #expect(header.hasPrefix("070701"))
        #expect(header.contains("000000AB000000CD"))
    }
}

/// Guards the newc reader that takes supermin's init out of its initrd.
@Suite("CPIOArchive.files")
struct CPIOArchiveFilesTests {
    @Test func readsBackTheRegularFilesWritten() throws {
        let data = CPIOArchive(entries: [
            .directory("bin"),
            .file("bin/a", contents: Data("12345".utf8), mode: 0o755),
            .characterDevice("dev/console", major: 5, minor: 1),
            .file("b", contents: Data(), mode: 0o644),
        ]).encoded()
        let files = try CPIOArchive.files(in: data)
        #expect(files.map(\.name) == ["bin/a", "b"])
        #expect(files[0].contents == Data("12345".utf8) && files[0].mode == 0o755)
        #expect(files[1].contents.isEmpty)
    }

    @Test func rejectsWhatIsNotNewc() {
        #expect(throws: VMLabError.self) { try CPIOArchive.files(in: Data("not an archive at all".utf8)) }
        let whole = CPIOArchive(entries: [.file("a", contents: Data(repeating: 7, count: 100), mode: 0o644)]).encoded()
        #expect(throws: VMLabError.self) { try CPIOArchive.files(in: whole.prefix(150)) }
        var badMagic = whole
        badMagic[0] = UInt8(ascii: "1")
        #expect(throws: VMLabError.self) { try CPIOArchive.files(in: badMagic) }
    }
}
