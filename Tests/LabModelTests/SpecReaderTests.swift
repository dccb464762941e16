import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the YAML spec reader: typed reads, located `file:line: field:` errors, unknown keys, sizes.
@Suite("SpecReader")
struct SpecReaderTests {
    static let file = "spec.yaml"

    /// Parses `text`, runs `read` on the top mapping, and returns every collected error.
    func problems(_ text: String, _ read: (MappingReader) -> Void) throws -> [SpecError] {
        let (reader, top) = try SpecReader.parse(text, file: Self.file)
        read(top)
        return reader.errors
    }

    @Test func readsTypedValuesWithoutErrors() throws {
        let text = """
        name: web
        memory: 512
        enabled: yes
        disk: 2G
        packages: [dash, mount]
        vms:
          a: {memory: 1}
          b: {memory: 2}
        links:
          /usr/bin/awk: mawk
        """
        let (reader, top) = try SpecReader.parse(text, file: Self.file)
        #expect(top.string("name") == "web")
        #expect(top.int("memory", range: 64...1024) == 512)
        #expect(top.bool("enabled") == true)
        #expect(top.size("disk") == 2 << 30)
        #expect(top.stringList("packages") == ["dash", "mount"])
        let vms = top.namedMappings("vms")
        #expect(vms.map(\.name) == ["a", "b"])
        #expect(vms.map { $0.reader.int("memory") } == [1, 2])
        #expect(vms.first?.reader.field("memory") == "vms.a.memory")
        let links = top.stringMap("links")
        #expect(links.map(\.key) == ["/usr/bin/awk"])
        #expect(links.map(\.value) == ["mawk"])
        top.finish()
        #expect(reader.errors.isEmpty)
        #expect(throws: Never.self) { try reader.check() }
    }

    @Test func absentOptionalValuesAreNilWithoutErrors() throws {
        let errors = try problems("name: web\n") { top in
            #expect(top.string("description") == nil)
            #expect(top.int("memory") == nil)
            #expect(top.bool("enabled") == nil)
            #expect(top.size("disk") == nil)
            #expect(top.stringList("packages").isEmpty)
            #expect(top.mapping("vms") == nil)
            _ = top.string("name")
            top.finish()
        }
        #expect(errors.isEmpty)
    }

    @Test func unknownKeyIsReportedWithItsLineAndTheKnownKeys() throws {
        let errors = try problems("name: web\ndescripton: typo\n") { top in
            _ = top.string("name")
            _ = top.string("description")
            top.finish()
        }
        #expect(errors.count == 1)
        let text = try #require(errors.first).description
        #expect(text.hasPrefix("spec.yaml:2: descripton: unknown key"))
        #expect(text.contains("known keys here: description, name"))
    }

    @Test func finishAcceptsExplicitlyAllowedKeys() throws {
        let errors = try problems("name: web\nx-note: anything\n") { top in
            _ = top.string("name")
            top.finish(allowed: ["x-note"])
        }
        #expect(errors.isEmpty)
    }

    @Test func nestedUnknownKeyNamesTheDottedPath() throws {
        let errors = try problems("vm:\n  memory: 1\n  memroy: 2\n") { top in
            let vm = top.mapping("vm")
            _ = vm?.int("memory")
            vm?.finish()
            top.finish()
        }
        #expect(errors.map(\.description) == [
            "spec.yaml:3: vm.memroy: unknown key (known keys here: memory)",
        ])
    }

    @Test func requiredKeyMissingIsReportedAtTheMapping() throws {
        let errors = try problems("description: x\n") { top in
            _ = top.string("name", required: true)
            _ = top.mapping("vms", required: true)
        }
        #expect(errors.map(\.description) == [
            "spec.yaml:1: name: is required",
            "spec.yaml:1: vms: is required",
        ])
    }

    @Test func wrongValueTypesAreReported() throws {
        let text = """
        name: [a, b]
        memory: lots
        vcpus: 99
        enabled: maybe
        disk: lots
        packages: dash
        files: [a]
        list: [ok, {x: 1}]
        """
        let errors = try problems(text) { top in
            _ = top.string("name")
            _ = top.int("memory")
            _ = top.int("vcpus", range: 1...64)
            _ = top.bool("enabled")
            _ = top.size("disk")
            _ = top.stringList("packages")
            _ = top.mapping("files")
            _ = top.stringList("list")
            top.finish()
        }
        #expect(errors.map(\.description) == [
            "spec.yaml:1: name: expected a text value",
            "spec.yaml:2: memory: expected a whole number, got 'lots'",
            "spec.yaml:3: vcpus: 99 is out of range 1...64",
            "spec.yaml:4: enabled: expected true or false, got 'maybe'",
            "spec.yaml:5: disk: expected a size like 512M or 2G, got 'lots'",
            "spec.yaml:6: packages: expected a list",
            "spec.yaml:7: files: expected a mapping",
            "spec.yaml:8: list[1]: expected a text value",
        ])
    }

    @Test(arguments: [("yes", true), ("on", true), ("TRUE", true), ("no", false), ("off", false), ("False", false)])
    func boolSpellings(text: String, value: Bool) throws {
        let errors = try problems("flag: \(text)\n") { top in
            #expect(top.bool("flag") == value)
        }
        #expect(errors.isEmpty)
    }

    @Test func namedMappingEntryThatIsNotAMappingIsReported() throws {
        let errors = try problems("vms:\n  a: {memory: 1}\n  b: 3\n") { top in
            #expect(top.namedMappings("vms").map(\.name) == ["a"])
        }
        #expect(errors.map(\.description) == ["spec.yaml:3: vms.b: expected a mapping (write {} when there is nothing to set)"])
    }

    @Test func checkThrowsEveryCollectedErrorAtOnce() throws {
        let (reader, top) = try SpecReader.parse("a: x\nb: y\nc: z\n", file: Self.file)
        top.finish()
        let error = #expect(throws: SpecErrors.self) { try reader.check() }
        #expect(error?.errors.map(\.line) == [1, 2, 3])
        #expect(error?.description.split(separator: "\n").count == 3)
    }

    @Test func yamlSyntaxErrorIsLocated() throws {
        let error = #expect(throws: SpecErrors.self) {
            _ = try SpecReader.parse("name: web\ndescription: a: b\n", file: Self.file)
        }
        let only = try #require(error?.errors.first)
        #expect(error?.errors.count == 1)
        #expect(only.line == 2)
        #expect(only.message.hasPrefix("YAML syntax:"))
        #expect(only.description.hasPrefix("spec.yaml:2: YAML syntax:"))
    }

    @Test func unterminatedFlowListIsASyntaxErrorWithALine() throws {
        let error = #expect(throws: SpecErrors.self) {
            _ = try SpecReader.parse("name: web\npackages: [dash, mount\ninit: x\n", file: Self.file)
        }
        let line = try #require(error?.errors.first?.line)
        #expect((2...4).contains(line))
    }

    @Test(arguments: [
        ("- a\n- b\n", 1),
        ("just some text\n", 1),
        ("# comment\n# another\n- a\n", 3),
        ("", 1),
    ])
    func topLevelMustBeAMapping(text: String, line: Int) throws {
        let error = #expect(throws: SpecErrors.self) { _ = try SpecReader.parse(text, file: Self.file) }
        #expect(error?.errors.count == 1)
        #expect(error?.errors.first?.line == line)
        #expect(error?.description == "spec.yaml:\(line): expected a mapping of keys to values at the top level")
    }

    @Test func loadingAMissingFileIsNotFound() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-no-such-\(UUID()).yaml")
        let error = #expect(throws: VMLabError.self) { _ = try SpecReader.load(url) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains(url.path) == true)
    }

    @Test func loadReportsTheFilePath() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try tmp.write("x.yaml", "name: web\nbogus: 1\n")
        let (reader, top) = try SpecReader.load(url)
        _ = top.string("name")
        top.finish()
        #expect(reader.errors.map(\.description) == ["\(url.path):2: bogus: unknown key (known keys here: name)"])
    }

    // A duplicated key is a typical author mistake; Yams reports it as
    // `duplicatedKeysInMapping`, which SpecReader.syntaxError's `default:` branch turns into
    // an error without a line whose message embeds the whole file.
    @Test func duplicateKeyIsLocatedAndDoesNotDumpTheFile() throws {
        let text = "name: web\npackages: [dash]\nsize: 1G\npackages: [mount]\n"
        let error = #expect(throws: SpecErrors.self) { _ = try SpecReader.parse(text, file: Self.file) }
        let only = try #require(error?.errors.first)
        #expect(only.message.contains("packages"))
        #expect(only.line != nil)
        #expect(!only.message.contains("size: 1G"))
    }

    // MARK: parseSize

    @Test(arguments: [
        ("512M", UInt64(512) << 20),
        ("2G", UInt64(2) << 30),
        ("1024K", UInt64(1) << 20),
        ("1GiB", UInt64(1) << 30),
        ("3MiB", UInt64(3) << 20),
        ("1T", UInt64(1) << 40),
        ("2g", UInt64(2) << 30),
        (" 64M ", UInt64(64) << 20),
        ("100B", UInt64(100)),
        ("4096", UInt64(4096)),
    ])
    func parseSizeAccepts(text: String, bytes: UInt64) {
        #expect(parseSize(text) == bytes)
    }

    @Test(arguments: ["0", "0M", "-1", "-1G", "", "12Q", "G", "1.5G", "lots", "2 GB"])
    func parseSizeRejects(text: String) {
        #expect(parseSize(text) == nil)
    }

    // `n * factor` traps on overflow, so `size: 99999999999T` in a recipe crashes vmlab.
    @Test func parseSizeRejectsOverflowInsteadOfCrashing() async {
        await #expect(processExitsWith: .success) {
            _ = parseSize("99999999999T")
        }
    }
}
