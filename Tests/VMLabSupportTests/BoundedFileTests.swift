import Foundation
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards reading an untrusted file: special files are refused before a byte is read, and
/// no more than the limit plus one byte is ever read.
@Suite("Bounded file")
struct BoundedFileTests {
    func problem(_ path: String, limit: Int = 100) -> BoundedFile.Problem? {
        do {
            _ = try BoundedFile.read(path, limit: limit)
            return nil
        } catch {
            return error
        }
    }

    @Test func specialFilesAreRefusedWithOneLine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let fifo = dir.path("bundle.json").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(problem(fifo)?.description == "it is a FIFO (named pipe), not a regular file")
        #expect(problem("/dev/zero")?.description == "it is a character device, not a regular file")
        #expect(problem(dir.url.path)?.description == "it is a directory, not a regular file")
        #expect(problem(dir.path("missing").path)?.description == "cannot open it: No such file or directory")
    }

    @Test func readsUpToTheLimitAndRefusesOneByteMore() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let exact = try dir.write("exact", Data(repeating: 7, count: 100))
        #expect(try BoundedFile.read(exact.path, limit: 100) == Data(repeating: 7, count: 100))
        let over = try dir.write("over", Data(repeating: 7, count: 101))
        #expect(problem(over.path) == .tooLarge(limit: 100))
        #expect(problem(over.path)?.description == "it is larger than the limit of 100 bytes")
        let empty = try dir.write("empty", Data())
        #expect(try BoundedFile.read(empty.path, limit: 100) == Data())
        #expect(BoundedFile.byteCount(64 << 20) == "64 MiB" && BoundedFile.byteCount(1536) == "1.5 KiB")
    }

    @Test func aFileLargerThanItsStatedSizeIsReadToItsEnd() throws {
        // /proc files say they are empty: the reader keeps going until the end, within the limit.
        let status = try BoundedFile.read("/proc/self/status", limit: 1 << 20)
        #expect(String(decoding: status, as: UTF8.self).hasPrefix("Name:"))
        #expect(problem("/proc/self/status", limit: 10) == .tooLarge(limit: 10))
    }

    @Test func aSparseHugeFileCostsNothing() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.path("huge.json")
        #expect(FileManager.default.createFile(atPath: file.path, contents: nil))
        #expect(truncate(file.path, 3 << 30) == 0)  // 3 GiB, sparse: refused from its size alone
        #expect(problem(file.path, limit: 1 << 20) == .tooLarge(limit: 1 << 20))
    }

    @Test func copyAndHeadRefuseASymbolicLinkThatReadFollows() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let target = try dir.write("kernel", Data(repeating: 7, count: 10))
        let link = dir.path("link").path
        #expect(symlink(target.path, link) == 0)
        #expect(try BoundedFile.read(link, limit: 100) == Data(repeating: 7, count: 10))
        var copyProblem: BoundedFile.Problem?
        do { try BoundedFile.copy(link, to: dir.path("copy").path, limit: 100) } catch { copyProblem = error }
        #expect(copyProblem?.description == "it is a symbolic link, not a regular file")
        var headProblem: BoundedFile.Problem?
        do { _ = try BoundedFile.head(link, count: 4) } catch { headProblem = error }
        #expect(headProblem?.description == "it is a symbolic link, not a regular file")
        do { _ = try BoundedFile.head(dir.url.path, count: 4) } catch { headProblem = error }
        #expect(headProblem == .notARegularFile("a directory"))
        let head = try BoundedFile.head(target.path, count: 4)
        #expect(head.bytes == Data(repeating: 7, count: 4) && head.size == 10)
        do { try BoundedFile.copy(target.path, to: dir.path("small").path, limit: 9) } catch { copyProblem = error }
        #expect(copyProblem == .tooLarge(limit: 9))
        try BoundedFile.copy(target.path, to: dir.path("copied").path, limit: 10)
        #expect(try Data(contentsOf: dir.path("copied")) == Data(repeating: 7, count: 10))
    }
}
