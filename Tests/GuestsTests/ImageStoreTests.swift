import Foundation
@testable import Guests
@testable import LabModel
@testable import LabStore
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the content-addressed image store: listing newest first, resolving by name or digest prefix, removal.
@Suite("ImageStore")
struct ImageStoreTests {
    /// A temp vmlab home whose images/ holds fake images (just a manifest.json each).
    struct Fixture {
        let tmp: TempDir
        let home: VMLabHome
        var store: ImageStore { ImageStore(home: home) }

        init() throws {
            tmp = try TempDir()
            home = VMLabHome(root: tmp.url)
        }

        func remove() { tmp.remove() }

        @discardableResult
        func add(_ name: String, digest: String, builtAt seconds: TimeInterval, directory: String? = nil) throws -> ImageManifest {
            let manifest = ImageManifest(
                name: name, digest: digest, recipe: "\(name).yaml", kernelRelease: "6.1.0-test",
                packages: ["dash": "0.5.12-2"], diskBytes: 1 << 20, kernelBytes: 2048, initrdBytes: 1024,
                kernelArguments: "", builtAt: Date(timeIntervalSince1970: seconds), buildSeconds: 12.5)
            try tmp.write("images/\(directory ?? digest)/manifest.json", ImageStore.encoder.encode(manifest))
            return manifest
        }
    }

    static let d1 = "1111aa" + String(repeating: "0", count: 58)
    static let d2 = "2222bb" + String(repeating: "0", count: 58)
    static let d3 = "3333cc" + String(repeating: "0", count: 58)

    @Test func emptyOrMissingStoreListsNothing() throws {
        let f = try Fixture()
        defer { f.remove() }
        #expect(f.store.all().isEmpty)
        try FileManager.default.createDirectory(at: f.home.images, withIntermediateDirectories: true)
        #expect(f.store.all().isEmpty)
    }

    @Test func allIsNewestFirst() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        try f.add("web", digest: Self.d2, builtAt: 3_000)
        try f.add("base", digest: Self.d3, builtAt: 2_000)
        let all = f.store.all()
        #expect(all.map(\.manifest.digest) == [Self.d2, Self.d3, Self.d1])
        #expect(all.first?.directory.lastPathComponent == Self.d2)
    }

    @Test func manifestRoundTrips() throws {
        let f = try Fixture()
        defer { f.remove() }
        let written = try f.add("base", digest: Self.d1, builtAt: 1_700_000_000)
        #expect(f.store.all().first?.manifest == written)
    }

    @Test func ignoresDirectoriesWithoutAManifestAndDotDirectories() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        try f.add("half", digest: Self.d2, builtAt: 9_000, directory: ".build-2222bb-1")
        try f.tmp.write("images/\(Self.d3)/disk.qcow2", "not an image yet")
        try f.tmp.write("images/garbage/manifest.json", "{not json")
        #expect(f.store.all().map(\.manifest.name) == ["base"])
    }

    @Test func builtImagePaths() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        let image = try #require(f.store.all().first)
        #expect(image.directory.standardizedFileURL.path == f.home.images.appendingPathComponent(Self.d1).standardizedFileURL.path)
        #expect(image.disk.lastPathComponent == "disk.qcow2")
        #expect(image.kernel.lastPathComponent == "kernel")
        #expect(image.initrd.lastPathComponent == "initrd")
        #expect(image.disk.deletingLastPathComponent().path == image.directory.path)
        #expect(image.shortDigest == String(Self.d1.prefix(12)))
    }

    @Test func resolveByNamePicksTheNewest() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        try f.add("base", digest: Self.d2, builtAt: 5_000)
        try f.add("web", digest: Self.d3, builtAt: 9_000)
        #expect(try f.store.resolve("base").manifest.digest == Self.d2)
        #expect(try f.store.resolve("web").manifest.digest == Self.d3)
    }

    @Test(arguments: ["1111aa", "1111aa00", d1])
    func resolveByDigestPrefix(_ prefix: String) throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        try f.add("base", digest: Self.d2, builtAt: 5_000)
        #expect(try f.store.resolve(prefix).manifest.digest == Self.d1)
    }

    @Test func digestPrefixShorterThanSixIsNotEnough() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        let error = #expect(throws: VMLabError.self) { _ = try f.store.resolve("1111a") }
        #expect(error?.code == .notFound)
    }

    @Test func ambiguousDigestPrefixIsNotFound() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("a", digest: "abcdef01" + String(repeating: "0", count: 56), builtAt: 1_000)
        try f.add("b", digest: "abcdef02" + String(repeating: "0", count: 56), builtAt: 2_000)
        let error = #expect(throws: VMLabError.self) { _ = try f.store.resolve("abcdef") }
        #expect(error?.code == .notFound)
        #expect(try f.store.resolve("abcdef02").manifest.name == "b")
    }

    @Test func unknownNameInAnEmptyStoreSaysHowToBuild() throws {
        let f = try Fixture()
        defer { f.remove() }
        let error = #expect(throws: VMLabError.self) { _ = try f.store.resolve("web") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("no built image named 'web'") == true)
        #expect(error?.message.contains("`vmlab image build web`") == true)
    }

    @Test func unknownNameListsTheBuiltOnes() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("web", digest: Self.d1, builtAt: 1_000)
        try f.add("base", digest: Self.d2, builtAt: 2_000)
        try f.add("base", digest: Self.d3, builtAt: 3_000)
        let error = #expect(throws: VMLabError.self) { _ = try f.store.resolve("db") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("(built: base, web)") == true)
        #expect(error?.message.contains("`vmlab image build db`") == true)
    }

    @Test func imageByExactDigest() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        #expect(f.store.image(digest: Self.d1)?.manifest.name == "base")
        #expect(f.store.image(digest: "1111aa") == nil)
    }

    @Test func removeDeletesTheImageDirectory() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 1_000)
        try f.add("web", digest: Self.d2, builtAt: 2_000)
        try f.tmp.write("images/\(Self.d1)/disk.qcow2", "disk")
        let base = try f.store.resolve("base")
        try f.store.remove(base)
        #expect(!FileManager.default.fileExists(atPath: base.directory.path))
        #expect(f.store.all().map(\.manifest.name) == ["web"])
        #expect(throws: VMLabError.self) { _ = try f.store.resolve("base") }
    }

    @Test func encoderWritesISO8601DatesAndSortedKeys() throws {
        let f = try Fixture()
        defer { f.remove() }
        try f.add("base", digest: Self.d1, builtAt: 0)
        let text = try String(contentsOf: f.home.images.appendingPathComponent("\(Self.d1)/manifest.json"), encoding: .utf8)
        #expect(text.contains("\"builtAt\" : \"1970-01-01T00:00:00Z\""))
        let keys = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        #expect(keys == keys.sorted())
    }
}
