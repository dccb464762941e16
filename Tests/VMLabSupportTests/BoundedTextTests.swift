import Foundation
import Testing
import TestSupport
@testable import VMLabSupport

/// Files from outside are read bounded: regular files only, at most the cap, UTF-8 checked.
struct BoundedTextTests {
    @Test func readsARegularFileUpToTheCap() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("a.txt", "hello")
        #expect(try BoundedFile.read(file, maxBytes: 5) == Data("hello".utf8))
        #expect(throws: VMLabError.self) { try BoundedFile.read(file, maxBytes: 4) }
    }

    @Test func refusesDevicesFoldersAndMissingFilesWithOneLine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        for (path, fragment) in [("/dev/zero", "it is a character device"), (dir.url.path, "it is a directory"), (dir.url.path + "/nope", "No such file")] {
            do {
                _ = try BoundedFile.read(URL(fileURLWithPath: path), maxBytes: 1 << 20)
                Issue.record("\(path) was read")
            } catch {
                #expect(error.message.contains(fragment) && !error.message.contains("\n"), "\(error.message)")
            }
        }
    }

    @Test func invalidUTF8IsLocatedToTheByte() {
        #expect(BoundedFile.firstInvalidUTF8(Data("héllo".utf8)) == nil)
        #expect(BoundedFile.firstInvalidUTF8(Data([0x61, 0x62, 0xC3])) == 2)
        #expect(BoundedFile.firstInvalidUTF8(Data([0x61, 0xFF, 0x62])) == 1)
        #expect(BoundedFile.firstInvalidUTF8(Data([0x61, 0x00])) == 1, "NUL marks a binary file")
    }
}
