import ArgumentParser
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
@testable import VMLabCLI
@testable import VMLabSupport

/// Guards the `vmlab` command tree: every command has help with its abstract, arguments parse, exit statuses.
@Suite("Command tree")
struct CommandTreeTests {
    /// Every command below (and including) `type`, with its full path ("vmlab vm create").
    static func walk(_ type: any ParsableCommand.Type, prefix: [String] = []) -> [(path: String, type: any ParsableCommand.Type)] {
        let path = prefix + [type._commandName]
        return [(path.joined(separator: " "), type)]
            + type.configuration.subcommands.flatMap { walk($0, prefix: path) }
    }

    static let allPaths: [String] = walk(VMLab.self).map(\.path)

    static func command(at path: String) -> (any ParsableCommand.Type)? {
        walk(VMLab.self).first { $0.path == path }?.type
    }

    /// Collapses the line wrapping of help text.
    static func flat(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test func treeHasTheExpectedCommands() {
        let paths = Set(Self.allPaths)
        #expect(paths.count == Self.allPaths.count, "duplicate command paths: \(Self.allPaths)")
        for expected in ["vmlab", "vmlab doctor", "vmlab image build", "vmlab image list", "vmlab image rm",
                         "vmlab vm create", "vmlab vm start", "vmlab vm stop", "vmlab vm destroy", "vmlab vm rm",
                         "vmlab vm list", "vmlab exec", "vmlab snapshot create", "vmlab snapshot revert",
                         "vmlab snapshot list", "vmlab snapshot rm", "vmlab console", "vmlab gc", "vmlab course keys"] {
            #expect(paths.contains(expected), "missing \(expected)")
        }
    }

    @Test(arguments: allPaths)
    func helpShowsTheAbstractAndUsage(path: String) throws {
        let type = try #require(Self.command(at: path))
        let abstract = type.configuration.abstract
        #expect(!abstract.isEmpty, "\(path) has no abstract")
        let help = VMLab.helpMessage(for: type)
        #expect(!help.isEmpty)
        let flat = Self.flat(help)
        #expect(flat.contains(Self.flat(abstract)), "help of \(path) lacks its abstract:\n\(help)")
        #expect(flat.contains("USAGE: \(path)"), "help of \(path) lacks its usage line:\n\(help)")
    }

    // MARK: parsing

    @Test func vmCreateParsesItsOptions() throws {
        let parsed = try VMLab.parseAsRoot(["vm", "create", "x", "--memory", "256", "--vcpus", "2"])
        let create = try #require(parsed as? VMCommand.Create)
        #expect(create.name == "x")
        #expect(create.memory == 256)
        #expect(create.vcpus == 2)
        #expect(create.image == "base")
        #expect(create.noStart == false)
        #expect(create.bootTimeout == 180)
    }

    @Test func vmCreateFlagsAndGlobalOptions() throws {
        let parsed = try VMLab.parseAsRoot(["vm", "create", "db", "--image", "web", "--no-start", "--boot-timeout", "30",
                                            "--connect", "test:///default", "--accel", "tcg", "--course", "/c"])
        let create = try #require(parsed as? VMCommand.Create)
        #expect(create.image == "web")
        #expect(create.noStart)
        #expect(create.bootTimeout == 30)
        #expect(create.global.connectURI == "test:///default")
        #expect(create.global.accel == "tcg")
        #expect(create.global.course == "/c")
    }

    @Test func vmCreateRejectsANonNumericMemory() {
        #expect(throws: (any Error).self) { _ = try VMLab.parseAsRoot(["vm", "create", "x", "--memory", "lots"]) }
    }

    @Test func vmCreateNeedsAName() {
        #expect(throws: (any Error).self) { _ = try VMLab.parseAsRoot(["vm", "create"]) }
    }

    @Test func execTakesTheCommandAfterTheTerminator() throws {
        let parsed = try VMLab.parseAsRoot(["exec", "web", "--", "uname", "-a"])
        let exec = try #require(parsed as? Exec)
        #expect(exec.name == "web")
        #expect(exec.command == ["uname", "-a"])
        #expect(exec.environment.isEmpty)
        #expect(exec.timeout == 300)
    }

    @Test func execKeepsOptionsAfterTheTerminatorForTheCommand() throws {
        let parsed = try VMLab.parseAsRoot(["exec", "web", "--env", "A=1", "--env", "B=x=y", "--timeout", "5",
                                            "--", "ls", "--all", "--timeout", "9"])
        let exec = try #require(parsed as? Exec)
        #expect(exec.command == ["ls", "--all", "--timeout", "9"])
        #expect(exec.environment == ["A=1", "B=x=y"])
        #expect(exec.timeout == 5)
    }

    @Test(arguments: [["exec", "web"], ["exec", "web", "--"]])
    func execWithoutACommandIsAUsageError(arguments: [String]) {
        let error = #expect(throws: (any Error).self) { _ = try VMLab.parseAsRoot(arguments) }
        let message = error.map { VMLab.message(for: $0) } ?? ""
        #expect(message.contains("<command>"), "\(message)")
        #expect(error.map { VMLab.exitCode(for: $0) } == .validationFailure)
    }

    @Test(arguments: ["NOEQUALS", "=value"])
    func execRejectsMalformedEnvironment(pair: String) async throws {
        let exec = try #require(try VMLab.parseAsRoot(["exec", "web", "--env", pair, "--", "true"]) as? Exec)
        let error = await #expect(throws: ValidationError.self) { try await exec.run() }
        #expect(error?.message.contains("--env '\(pair)' must look like KEY=VALUE") == true)
    }

    @Test func snapshotAndRemoveCommands() throws {
        let snap = try #require(try VMLab.parseAsRoot(["snapshot", "create", "web", "clean"]) as? SnapshotCommand.Create)
        #expect(snap.name == "web")
        #expect(snap.snapshot == "clean")
        let rm = try #require(try VMLab.parseAsRoot(["vm", "rm", "a", "b", "c"]) as? VMCommand.Remove)
        #expect(rm.names == ["a", "b", "c"])
        #expect(try VMLab.parseAsRoot(["snapshot", "rm", "web", "clean"]) is SnapshotCommand.Remove)
        #expect(try VMLab.parseAsRoot(["image", "rm", "base"]) is ImageCommand.Remove)
    }

    @Test func formatsAndFlags() throws {
        let list = try #require(try VMLab.parseAsRoot(["image", "list", "--format", "json"]) as? ImageCommand.List)
        #expect(list.format == .json)
        #expect((try VMLab.parseAsRoot(["vm", "list"]) as? VMCommand.List)?.format == .table)
        let doctor = try #require(try VMLab.parseAsRoot(["doctor", "--quick", "--format", "json"]) as? VMLabCLI.Doctor)
        #expect(doctor.quick)
        #expect(doctor.format == .json)
        #expect((try VMLab.parseAsRoot(["gc", "--dry-run"]) as? GC)?.dryRun == true)
        #expect((try VMLab.parseAsRoot(["image", "build", "base", "--force"]) as? ImageCommand.Build)?.force == true)
        #expect(throws: (any Error).self) { _ = try VMLab.parseAsRoot(["image", "list", "--format", "xml"]) }
    }

    @Test(arguments: [["frobnicate"], ["vm", "frobnicate"], ["vm", "create", "x", "--bogus"], ["gc", "extra"]])
    func unknownInputThrows(arguments: [String]) {
        let error = #expect(throws: (any Error).self) { _ = try VMLab.parseAsRoot(arguments) }
        #expect(error.map { VMLab.exitCode(for: $0) } != .success)
    }

    // MARK: exit status

    @Test(arguments: [
        (VMLabError.Code.invalidInput, Int32(64)), (.notFound, 66), (.unavailable, 69), (.timeout, 75),
        (.failed, 1), (.invalidState, 1), (.alreadyExists, 1),
    ])
    func exitStatus(code: VMLabError.Code, status: Int32) {
        #expect(VMLab.exitStatus(code) == status)
    }
}
