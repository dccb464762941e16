import Foundation
@testable import LabModel
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards image recipe loading: a valid recipe's fields, and every validation error located as `file:line: field:`.
@Suite("ImageRecipe")
struct ImageRecipeTests {
    /// A valid recipe; line numbers below refer to it.
    static let valid = """
    name: web
    description: A web server guest
    packages: [dash, mount, qemu-guest-agent, bash, coreutils, nginx]
    init: web/init
    files: {/etc/motd: web/motd, /usr/sbin/shutdown: web/shutdown}
    links: {/usr/bin/awk: mawk}
    size: 512M
    kernel-args: loglevel=3
    """

    /// Writes `Images/<file>` with `yaml`, plus web/init, web/motd and web/shutdown next to it.
    func write(_ yaml: String, file: String = "web.yaml", in tmp: TempDir, support: Bool = true) throws -> URL {
        if support {
            try tmp.write("Images/web/init", "#!/bin/sh\nexec /bin/sh\n")
            try tmp.write("Images/web/motd", "hello\n")
            try tmp.write("Images/web/shutdown", "#!/bin/sh\n")
        }
        return try tmp.write("Images/\(file)", yaml)
    }

    /// Loads `yaml` and returns the SpecErrors it must throw.
    func loadErrors(_ yaml: String, file: String = "web.yaml", support: Bool = true) throws -> (path: String, errors: SpecErrors) {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try write(yaml, file: file, in: tmp, support: support)
        let error = try #require(throws: SpecErrors.self) { _ = try ImageRecipe.load(url) }
        return (url.path, error)
    }

    @Test func validRecipeLoadsEveryField() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try write(Self.valid, in: tmp)
        let recipe = try ImageRecipe.load(url)
        #expect(recipe.name == "web")
        #expect(recipe.description == "A web server guest")
        #expect(recipe.packages == ["dash", "mount", "qemu-guest-agent", "bash", "coreutils", "nginx"])
        #expect(recipe.initScript == "web/init")
        #expect(recipe.files == ["/etc/motd": "web/motd", "/usr/sbin/shutdown": "web/shutdown"])
        #expect(recipe.links == ["/usr/bin/awk": "mawk"])
        #expect(recipe.rootSize == 512 << 20)
        #expect(recipe.kernelArguments == "loglevel=3")
        #expect(recipe.source == url)
    }

    @Test func kernelReleaseNamesTheGuestKernelsHeaders() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let yaml = Self.valid.replacingOccurrences(of: "nginx]", with: "\"linux-headers-${kernel-release}\"]")
        let recipe = try ImageRecipe.load(try write(yaml, in: tmp))
        #expect(recipe.packages(kernelRelease: "6.1.0-57-amd64").last == "linux-headers-6.1.0-57-amd64")
        let bad = Self.valid.replacingOccurrences(of: "nginx]", with: "\"linux-headers-${release}\"]")
        let (path, errors) = try loadErrors(bad)
        #expect(errors.description.contains("\(path):3: packages:"))
        #expect(errors.description.contains("${kernel-release}"))
    }

    @Test func payloadIsInitFirstThenFilesByGuestPath() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try write(Self.valid, in: tmp)
        let recipe = try ImageRecipe.load(url)
        let dir = url.deletingLastPathComponent()
        #expect(recipe.payload.map(\.guestPath) == ["/init", "/etc/motd", "/usr/sbin/shutdown"])
        #expect(recipe.payload.map(\.hostFile.path) == [
            dir.appendingPathComponent("web/init").path,
            dir.appendingPathComponent("web/motd").path,
            dir.appendingPathComponent("web/shutdown").path,
        ])
    }

    @Test func optionalFieldsTakeTheirDefaults() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try write("name: web\npackages: [dash, mount, qemu-guest-agent, bash, coreutils]\ninit: web/init\n", in: tmp)
        let recipe = try ImageRecipe.load(url)
        #expect(recipe.description == "")
        #expect(recipe.files.isEmpty)
        #expect(recipe.links.isEmpty)
        #expect(recipe.rootSize == 2 << 30)
        #expect(recipe.kernelArguments == "")
        #expect(recipe.payload.map(\.guestPath) == ["/init"])
    }

    @Test func blockStyleRecipeWithCommentsLoads() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try write("""
        # a comment
        name: web
        packages:
          # needed by /init
          - dash
          - mount
          - qemu-guest-agent
          - bash
          - coreutils
        init: web/init
        files:
          /etc/motd: web/motd
        links:
          /usr/bin/nc: nc.openbsd
        size: 1G
        """, in: tmp)
        let recipe = try ImageRecipe.load(url)
        #expect(recipe.packages == ["dash", "mount", "qemu-guest-agent", "bash", "coreutils"])
        #expect(recipe.files == ["/etc/motd": "web/motd"])
        #expect(recipe.links == ["/usr/bin/nc": "nc.openbsd"])
        #expect(recipe.rootSize == 1 << 30)
    }

    /// The recipe shipped in the repository must stay loadable.
    @Test func shippedBaseRecipeLoads() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Images/base.yaml")
        try #require(FileManager.default.fileExists(atPath: url.path))
        let recipe = try ImageRecipe.load(url)
        #expect(recipe.name == "base")
        #expect(Set(["dash", "mount", "qemu-guest-agent"]).isSubset(of: Set(recipe.packages)))
        #expect(recipe.payload.allSatisfy { FileManager.default.fileExists(atPath: $0.hostFile.path) })
    }

    @Test func missingRecipeFileIsNotFound() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-missing-\(UUID()).yaml")
        let error = #expect(throws: VMLabError.self) { _ = try ImageRecipe.load(url) }
        #expect(error?.code == .notFound)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let yaml: String
        var file = "web.yaml"
        var support = true
        /// `LINE: field:` expected right after the path, and a fragment of the message.
        let located: String
        let message: String
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "unknown key", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             kernel-arg: quiet
             """, located: "4: kernel-arg:", message: "unknown key"),
        Case(label: "typo in packages", yaml: """
             name: web
             pakages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             """, located: "2: pakages:", message: "unknown key"),
        Case(label: "missing name", yaml: """
             description: no name
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             """, located: "1: name:", message: "is required"),
        Case(label: "name differs from file", yaml: """
             description: x
             name: db
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             """, located: "2: name:", message: "'db' differs from the file name web.yaml"),
        Case(label: "invalid name", yaml: """
             name: Web_1
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             """, file: "Web_1.yaml", located: "1: name:", message: "must be lowercase letters, digits and dashes"),
        Case(label: "no packages", yaml: """
             name: web
             packages: []
             init: web/init
             """, located: "2: packages:", message: "list at least one Debian package"),
        Case(label: "packages key absent", yaml: """
             name: web
             init: web/init
             """, located: "1: packages:", message: "list at least one Debian package"),
        Case(label: "missing dash", yaml: """
             name: web
             init: web/init
             packages: [mount, qemu-guest-agent, bash, coreutils]
             """, located: "3: packages:", message: "must include 'dash'"),
        Case(label: "missing mount", yaml: """
             name: web
             packages: [dash, qemu-guest-agent, bash, coreutils]
             init: web/init
             """, located: "2: packages:", message: "must include 'mount'"),
        Case(label: "missing qemu-guest-agent", yaml: """
             name: web
             packages: [dash, mount, bash, coreutils]
             init: web/init
             """, located: "2: packages:", message: "must include 'qemu-guest-agent'"),
        Case(label: "missing bash", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, coreutils]
             init: web/init
             """, located: "2: packages:", message: "must include 'bash' (every exec runs under a bash wrapper"),
        Case(label: "missing init key", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             """, located: "1: init:", message: "is required"),
        Case(label: "relative guest path in files", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             files: {etc/motd: web/motd}
             """, located: "4: files.etc/motd:", message: "guest paths must be absolute"),
        Case(label: "relative guest path in links", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             links: {usr/bin/awk: mawk}
             """, located: "4: links.usr/bin/awk:", message: "guest paths must be absolute"),
        Case(label: "bad size", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             size: lots
             """, located: "4: size:", message: "expected a size like 512M or 2G, got 'lots'"),
        Case(label: "zero size", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             size: 0
             init: web/init
             """, located: "3: size:", message: "got '0'"),
        Case(label: "description is a list", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             description: [a, b]
             """, located: "4: description:", message: "expected a text value"),
        Case(label: "packages is not a list", yaml: """
             name: web
             packages: dash
             init: web/init
             """, located: "2: packages:", message: "expected a list"),
        Case(label: "files is not a mapping", yaml: """
             name: web
             packages: [dash, mount, qemu-guest-agent, bash, coreutils]
             init: web/init
             files: [/etc/motd]
             """, located: "4: files:", message: "expected a mapping"),
    ]

    @Test(arguments: cases)
    func invalidRecipeIsLocated(_ c: Case) throws {
        let (path, error) = try loadErrors(c.yaml, file: c.file, support: c.support)
        let matching = error.errors.filter { $0.description.hasPrefix("\(path):\(c.located)") }
        #expect(!matching.isEmpty, "expected '\(path):\(c.located)' in:\n\(error)")
        #expect(matching.contains { $0.message.contains(c.message) }, "expected '\(c.message)' in:\n\(error)")
        #expect(error.description.contains("\(path):\(c.located)"))
    }

    @Test func yamlSyntaxErrorReportsALine() throws {
        let (path, error) = try loadErrors("name: web\ndescription: a: b\npackages: [dash]\n")
        #expect(error.errors.count == 1)
        #expect(error.description.hasPrefix("\(path):2: YAML syntax:"))
    }

    @Test func topLevelListIsRejected() throws {
        let (path, error) = try loadErrors("- name: web\n- packages: [dash]\n")
        #expect(error.description == "\(path):1: expected a mapping of keys to values at the top level")
    }

    @Test func severalErrorsInOneFileAreAllReported() throws {
        let (path, error) = try loadErrors("""
        name: web
        packages: [dash, mount, bash, coreutils]
        init: web/init
        size: lots
        pakages: [qemu-guest-agent]
        files: {etc/motd: web/motd}
        """)
        let text = error.description
        #expect(text.contains("\(path):2: packages: must include 'qemu-guest-agent'"))
        #expect(text.contains("\(path):4: size: expected a size"))
        #expect(text.contains("\(path):5: pakages: unknown key"))
        #expect(text.contains("\(path):6: files.etc/motd: guest paths must be absolute"))
        #expect(error.errors.count == 4)
    }

    @Test func missingEveryRequiredPackageGivesOneErrorEach() throws {
        let (_, error) = try loadErrors("name: web\npackages: [nginx]\ninit: web/init\n")
        #expect(error.errors.map(\.message) == [
            "must include 'dash' (the guest's /init runs on it)",
            "must include 'mount' (the guest's /init mounts the root and /proc with it)",
            "must include 'qemu-guest-agent' (vmlab reaches the guest only through the agent)",
            "must include 'bash' (every exec runs under a bash wrapper that bounds its output)",
            "must include 'coreutils' (the exec wrapper cuts output with its head)",
        ])
        #expect(error.errors.allSatisfy { $0.line == 2 && $0.field == "packages" })
    }

    @Test func missingInitFileIsReported() throws {
        let (path, error) = try loadErrors("""
        name: web
        packages: [dash, mount, qemu-guest-agent, bash, coreutils]
        init: web/nope
        """)
        let only = try #require(error.errors.first)
        #expect(error.errors.count == 1)
        #expect(only.field == "init")
        #expect(only.message.contains("web/nope does not exist"))
        #expect(error.description.contains("\(path):"))
        #expect(only.line == 3)
    }

    @Test func missingFilesEntryIsReported() throws {
        let (_, error) = try loadErrors("""
        name: web
        packages: [dash, mount, qemu-guest-agent, bash, coreutils]
        init: web/init
        files: {/etc/issue: web/issue}
        """)
        let only = try #require(error.errors.first)
        #expect(error.errors.count == 1)
        #expect(only.field == "files./etc/issue")
        #expect(only.message.contains("web/issue does not exist"))
        #expect(only.line == 4)
    }

    // Block style is how recipes are written (see Images/base.yaml).
    @Test func blockStyleErrorsPointAtTheOffendingLine() throws {
        let (path, error) = try loadErrors("""
        name: web
        packages: [dash, mount, qemu-guest-agent, bash, coreutils]
        init: web/init
        files:
          /etc/motd: web/motd
          etc/issue: web/motd
        pakages:
          - nginx
        """)
        let text = error.description
        #expect(text.contains("files.etc/issue: guest paths must be absolute"))
        #expect(text.contains("pakages: unknown key"))
        #expect(text.contains("\(path):6: files.etc/issue:"))
        #expect(text.contains("\(path):7: pakages:"))
    }

    // `name:` and `init:` with no value read as "" and skip every check.
    @Test(arguments: [
        "name:\npackages: [dash, mount, qemu-guest-agent, bash, coreutils]\ninit: web/init\n",
        "name: web\npackages: [dash, mount, qemu-guest-agent, bash, coreutils]\ninit:\n",
    ])
    func emptyRequiredValueIsAnError(_ yaml: String) throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let url = try write(yaml, in: tmp)
        #expect(throws: SpecErrors.self) { _ = try ImageRecipe.load(url) }
    }
}
