import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the submission bundle: a faithful round trip, and every hostile file refused with
/// a reason a person can act on.
@Suite("Grading: Submission")
struct GradingSubmissionTests {
    typealias F = GradingFixture
    static let secret = Data("correct horse battery staple 42".utf8)

    /// A bundle made the way `vmlab submit` would: the runs used the student's own values.
    static func submission(student: String = "alice") -> Submission {
        let values = StudentParameters.parameters(lab: F.lab(), student: student, secret: secret)
        let evidence = F.evidence()
        return Submission(
            lab: "journal-replay", student: student, labDigest: "sha256:lab", imageDigest: "sha256:image",
            instance: "0a1b2c3d", createdAt: Date(timeIntervalSince1970: 1_700_000_123.456),
            runs: evidence.runs.map { var r = $0; r.parameters.merge(values) { _, v in v }; return r },
            measurements: evidence.measurements.map { var m = $0; m.parameters.merge(values) { _, v in v }; return m },
            answers: evidence.answers, artifacts: evidence.artifacts.merging(["empty.txt": Data()]) { a, _ in a })
    }

    /// Encodes without the checks `encoded()` makes, as a hostile tool would, digest included.
    static func forge(_ s: Submission) throws -> Data {
        var sealed = s
        sealed.digest = try s.computedDigest()
        return try Submission.encoder().encode(sealed)
    }

    func rejection(_ data: Data, limits: Submission.Limits = .default) -> String? {
        do {
            _ = try Submission.decode(data, limits: limits)
            return nil
        } catch let error as SubmissionError {
            return error.reason
        } catch {
            return "not a SubmissionError: \(error)"
        }
    }

    @Test func roundTripsAndVerifies() throws {
        let original = Self.submission()
        let data = try original.encoded()
        let decoded = try Submission.decode(data)
        #expect(try decoded.digest.count == 64 && decoded.digest == original.computedDigest())
        #expect(decoded.format == "vmlab-submission/1")
        #expect(decoded.student == "alice" && decoded.lab == original.lab && decoded.instance == "0a1b2c3d")
        #expect(decoded.answers == original.answers && decoded.artifacts == original.artifacts)
        #expect(decoded.artifactData["ruleset.nft"] == F.evidence().artifacts["ruleset.nft"])
        #expect(decoded.artifactData["empty.txt"] == Data())
        #expect(decoded.measurements.map(\.value) == original.measurements.map(\.value))
        #expect(decoded.measurements.map(\.parameters) == original.measurements.map(\.parameters))
        #expect(decoded.runs.map(\.id) == original.runs.map(\.id) && decoded.runs.map(\.status) == original.runs.map(\.status))
        #expect(abs(decoded.createdAt.timeIntervalSince(original.createdAt)) < 0.001)
        #expect(try decoded.encoded() == data, "a decoded bundle encodes to the same bytes")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"createdAt\" : \"2023-11-14T22:15:23.456Z\""))
        try decoded.verifyParameters(lab: F.lab(), secret: Self.secret)
    }

    @Test func evidenceFromASubmissionHasTheStudentsValues() throws {
        let s = try Submission.decode(try Self.submission().encoded())
        let e = Evidence(submission: s, lab: F.lab(), secret: Self.secret)
        #expect(e.student == "alice" && e.parameters["files"] == "1500")
        #expect(e.parameters["commit"] == StudentParameters.derive(lab: F.lab(), student: "alice", secret: Self.secret)["commit"])
        #expect(e.artifacts["ruleset.nft"] == F.evidence().artifacts["ruleset.nft"])
    }

    @Test func datesSurviveExactlyAcrossEras() throws {
        for seconds in [0.0, -86400.5, 951_782_400.001, 4_102_444_799.999, 1_700_000_000.0005] {
            let text = try #require(iso8601Millis(exactly: Date(timeIntervalSince1970: seconds)))
            let parsed = try #require(parseISO8601Millis(text))
            #expect(iso8601Millis(exactly: parsed) == text)
        }
        #expect(iso8601Millis(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(parseISO8601Millis("2023-02-30T00:00:00.000Z") == nil)
        #expect(parseISO8601Millis("2023-01-01T00:00:00Z") == nil)
    }

    @Test func tamperedMeasurementBreaksTheDigest() throws {
        let data = try Self.submission().encoded()
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var measurements = try #require(json["measurements"] as? [[String: Any]])
        measurements[0]["value"] = 5
        json["measurements"] = measurements
        let tampered = try JSONSerialization.data(withJSONObject: json)
        #expect(rejection(tampered)?.contains("the digest does not match the contents") == true)
        #expect(rejection(try JSONSerialization.data(withJSONObject: json.merging(["digest": ""]) { $1 }))?
            .contains("digest does not match") == true)
    }

    @Test(arguments: [
        ("../x", "contains a path separator"), ("a/b", "contains a path separator"), ("a\\b", "contains a path separator"),
        (".hidden", "starts with '.'"), ("a..b", "contains '..'"), ("", "cannot be empty"),
        ("bell\u{7}", "control characters"), ("line\nbreak", "control characters"),
        (String(repeating: "n", count: 65), "longer than 64 characters"),
    ])
    func unsafeArtifactNamesAreRefused(_ name: String, _ reason: String) throws {
        var s = Self.submission()
        s.artifacts[name] = Data("x".utf8).base64EncodedString()
        let found = rejection(try Self.forge(s))
        #expect(found?.contains(reason) == true, "\(String(describing: found))")
        #expect(throws: SubmissionError.self) { _ = try s.encoded() }
    }

    @Test func oversizedOrInvalidArtifactsAreRefused() throws {
        var s = Self.submission()
        s.artifacts["big.bin"] = Data(count: (4 << 20) + 1).base64EncodedString()
        #expect(rejection(try Self.forge(s))?.contains("artifact big.bin is over the limit of 4 MiB") == true)
        #expect(throws: SubmissionError.self) { _ = try s.encoded() }
        s.artifacts["big.bin"] = Data(count: 4 << 20).base64EncodedString()
        #expect(rejection(try Self.forge(s)) == nil, "exactly 4 MiB is allowed")
        s.artifacts["kernel"] = Data(count: BootSpec.maxKernelBytes + 1).base64EncodedString()
        #expect(throws: SubmissionError.self) { _ = try s.encoded(limits: .bootingLab) }
        s.artifacts["kernel"] = nil
        s.artifacts["big.bin"] = Data(count: 11).base64EncodedString()
        #expect(rejection(try Self.forge(s), limits: Submission.Limits(maxArtifactBytes: 10))?.contains("big.bin is over the limit of 10 bytes (it has 11 bytes)") == true)
        s.artifacts["big.bin"] = "not base64!"
        #expect(rejection(try Self.forge(s)) == "artifact big.bin is not valid base64")
    }

    /// Only a lab that boots a kernel from the workspace reads bundles under the larger
    /// limits: every other lab's grader keeps the memory grade-bench measured.
    @Test func onlyALabThatBootsAWorkspaceKernelTakesLargeBundles() {
        let plain = LabSpec(name: "p", title: "t", summary: "s", image: "base", parameters: [], networks: [],
                            vms: [VMSpec(name: "box")], setup: [], experiments: [],
                            source: URL(fileURLWithPath: "/course/Labs/p/lab.yaml"))
        var booting = plain
        booting.vms = [VMSpec(name: "box"), VMSpec(name: "k", boot: BootSpec(kernel: "bzImage"))]
        #expect(Submission.Limits.of(plain) == .default)
        #expect(Submission.Limits.of(plain).maxBytes == 32 << 20 && Submission.Limits.of(plain).maxArtifactBytes == 4 << 20)
        #expect(Submission.Limits.of(booting) == .bootingLab)
        #expect(Submission.Limits.of(booting).maxArtifactBytes == BootSpec.maxKernelBytes)
    }

    /// A lab whose VM boots the student's kernel hands it in as a workspace artifact: a real
    /// distribution kernel (the host's, about 8 MiB) fits in a bundle, survives the file
    /// format, and a replay's workspace made of it passes the boot checks.
    @Test func aBundleCarriesAKernelAVMBoots() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: "/boot").filter { $0.hasPrefix("vmlinuz-") }.sorted()
        let kernelFile = try #require(names.last, "no /boot/vmlinuz-*: install linux-image-amd64 (scripts/setup.sh does)")
        let kernel = try Data(contentsOf: URL(fileURLWithPath: "/boot/\(kernelFile)"))
        let lab = LabSpec(name: "kboot", title: "t", summary: "s", image: "base", parameters: [], networks: [],
                          vms: [VMSpec(name: "box", boot: BootSpec(kernel: "bzImage"))], setup: [], experiments: [],
                          source: URL(fileURLWithPath: "/course/Labs/kboot/lab.yaml"),
                          artifacts: [ArtifactSpec(name: "bzImage", workspaceFile: "bzImage")],
                          workspace: { var w = WorkspaceSpec(); w.bootFiles = ["bzImage"]; return w }())
        let bundle = Submission(lab: "kboot", student: "alice", labDigest: "l", imageDigest: "i", instance: "x",
                                runs: [], measurements: [], answers: [:], artifacts: ["bzImage": kernel])
        #expect(throws: SubmissionError.self, "a kernel does not fit another lab's bundle") { _ = try bundle.encoded() }
        let decoded = try Submission.decode(try bundle.encoded(limits: .of(lab)), limits: .of(lab))
        let handedIn = try #require(lab.workspace(fromArtifacts: decoded.artifactData))
        #expect(handedIn.bootFiles["bzImage"] == kernel)
        #expect(handedIn.files.isEmpty, "copy-workspace does not copy the kernel into a guest")
        try BootFiles.check(lab, workspace: handedIn)
    }

    /// `submit` hands in a kernel the lab boots from the workspace folder, read apart from
    /// the rest of the workspace (whose 1 MiB default it would not fit) under the kernel's limit.
    @Test func submitCollectsTheBootedKernelFromTheWorkspace() async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: "/boot").filter { $0.hasPrefix("vmlinuz-") }.sorted()
        let kernelFile = URL(fileURLWithPath: "/boot/\(try #require(names.last))")
        let dir = try TempDir()
        defer { dir.remove() }
        let home = VMLabHome(root: dir.path("home"))
        let runner = try LabRunner(home: home, store: try Store(home: home), uri: "test:///default")
        let coursework = Coursework(runner: runner, catalog: LabCatalog(layout: CourseLayout(root: dir.url)))
        var spec = WorkspaceSpec()
        spec.bootFiles = ["bzImage"]
        let lab = LabSpec(name: "kboot", title: "t", summary: "s", image: "base", parameters: [], networks: [],
                          vms: [VMSpec(name: "box", boot: BootSpec(kernel: "bzImage"))], setup: [], experiments: [],
                          source: URL(fileURLWithPath: "/course/Labs/kboot/lab.yaml"),
                          artifacts: [ArtifactSpec(name: "bzImage", workspaceFile: "bzImage"),
                                      ArtifactSpec(name: "vmlab.c", workspaceFile: "vmlab.c")],
                          workspace: spec)
        let workspace = dir.path("ws")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: kernelFile, to: workspace.appendingPathComponent("bzImage"))
        try Data("int x;".utf8).write(to: workspace.appendingPathComponent("vmlab.c"))
        let instance = InstanceRecord(id: "abcd1234", lab: "kboot", imageDigest: "d", fixedParameters: "{}", state: .ready,
                                      pid: getpid(), createdAt: Date())
        let collected = try await coursework.collectArtifacts(lab: lab, instance: instance, workspace: workspace)
        #expect(collected["bzImage"] == (try Data(contentsOf: kernelFile)))
        #expect(collected["vmlab.c"] == Data("int x;".utf8))
        // A link in its place is refused, not followed.
        try FileManager.default.removeItem(at: workspace.appendingPathComponent("bzImage"))
        try FileManager.default.createSymbolicLink(at: workspace.appendingPathComponent("bzImage"), withDestinationURL: kernelFile)
        await #expect(throws: VMLabError.self) { _ = try await coursework.collectArtifacts(lab: lab, instance: instance, workspace: workspace) }
    }

    @Test func oversizedFileIsRefusedBeforeParsing() throws {
        let data = try Self.submission().encoded()
        let reason = rejection(data, limits: Submission.Limits(maxBytes: 1000))
        #expect(reason?.hasPrefix("the file is") == true && reason?.contains("over the limit of 1000 bytes") == true)
        #expect(rejection(Data(count: (32 << 20) + 1))?.contains("over the limit of 32 MiB") == true)
    }

    @Test func wrongFormatOrNotJSONIsRefused() throws {
        var s = Self.submission()
        s.format = "vmlab-submission/2"
        #expect(rejection(try Self.forge(s)) == "not a vmlab submission: its format tag is 'vmlab-submission/2', "
                + "expected 'vmlab-submission/1'")
        #expect(rejection(Data("{\"lab\": \"x\"}".utf8))?.contains("format tag is missing") == true)
        #expect(rejection(Data("PK\u{3}\u{4} a zip".utf8))?.contains("not a JSON object") == true)
        #expect(rejection(Data("{\"format\": \"vmlab-submission/1\"}".utf8))?.hasPrefix("malformed submission: missing field") == true)
    }

    @Test(arguments: ["bob smith", "../etc", ".x", "", String(repeating: "a", count: 65), "ünï", "a/b", "a,b"])
    func badStudentIDsAreRefused(_ id: String) throws {
        var s = Self.submission()
        s.student = id
        #expect(rejection(try Self.forge(s))?.contains("is not valid: use 1 to 64 letters") == true)
    }

    @Test(arguments: ["alice", "a.b-c_d@uni.example", String(repeating: "a", count: 64), "S12345"])
    func goodStudentIDsAreAccepted(_ id: String) {
        #expect(studentIDProblem(id) == nil)
    }

    @Test func nonFiniteValuesAreRefused() throws {
        var s = Self.submission()
        s.measurements[1].value = .nan
        #expect {
            _ = try s.encoded()
        } throws: { error in
            "\(error)".contains("measurement 2 (files_survived of run 1) is nan, not a finite number")
        }
        let good = String(decoding: try Self.submission().encoded(), as: UTF8.self)
        let firstValue = try #require(good.range(of: "\"value\" : 800"))
        for literal in ["NaN", "1e999", "Infinity"] {
            let hostile = good.replacingCharacters(in: firstValue, with: "\"value\" : \(literal)")
            let reason = rejection(Data(hostile.utf8))
            #expect(reason != nil && reason?.contains("not a SubmissionError") == false, "\(literal): \(String(describing: reason))")
        }
    }

    @Test func tooManyMeasurementsAreRefused() throws {
        let s = Self.submission()
        #expect(rejection(try Self.forge(s), limits: Submission.Limits(maxMeasurements: 3))
                == "too many measurements: more than the 3 allowed")
        #expect(throws: SubmissionError("too many measurements: 9, more than the 3 allowed")) {
            try s.validate(limits: Submission.Limits(maxMeasurements: 3))
        }
        var many = s
        many.measurements = (0..<10_001).map { F.m(1, "crash-replay", "mount_ms", Double($0), s.measurements[0].parameters) }
        #expect(rejection(try Self.forge(many))?.contains("more than the 10000 allowed") == true)
    }

    @Test func verifyParametersCatchesAnotherStudentsBundle() throws {
        var copied = Self.submission(student: "alice")
        copied.student = "bob"  // bob resubmits alice's bundle under his own id, with a valid digest
        let decoded = try Submission.decode(try copied.encoded())
        let bob = StudentParameters.derive(lab: F.lab(), student: "bob", secret: Self.secret)
        let alice = StudentParameters.derive(lab: F.lab(), student: "alice", secret: Self.secret)
        #expect(alice != bob)
        #expect {
            try decoded.verifyParameters(lab: F.lab(), secret: Self.secret)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("run 1 used ") && text.contains("but student bob's value is")
                && text.hasSuffix("(a bundle from another student?)")
        }
        var wrongLab = decoded
        wrongLab.lab = "other"
        #expect(throws: SubmissionError.self) { try wrongLab.verifyParameters(lab: F.lab(), secret: Self.secret) }
    }

    @Test func verifyParametersChecksMeasurementsToo() throws {
        var s = Self.submission()
        let alice = StudentParameters.derive(lab: F.lab(), student: "alice", secret: Self.secret)
        let other = alice["mode"] == "journal" ? "ordered" : "journal"
        s.measurements[3].parameters["mode"] = other
        #expect {
            try s.verifyParameters(lab: F.lab(), secret: Self.secret)
        } throws: { error in
            "\(error)" == "measurement files_survived of run 2 used mode=\(other) but student alice's value is "
                + "\(alice["mode"]!) (a bundle from another student?)"
        }
        s.measurements[3].parameters["mode"] = nil
        #expect(throws: SubmissionError.self) { try s.verifyParameters(lab: F.lab(), secret: Self.secret) }
    }

    @Test func duplicateKeysAreRefusedWhicheverReaderWouldWin() throws {
        let good = String(decoding: try Self.submission().encoded(), as: UTF8.self)
        // The same key twice: JSONDecoder kept the first value, most readers the last.
        let twice = good.replacingOccurrences(of: "\"q1\" : \"1460\"", with: "\"q1\" : \"1460\",\n    \"q1\" : \"9999\"")
        #expect(twice != good)
        #expect(rejection(Data(twice.utf8)) == "answers has the key 'q1' twice (JSON readers disagree on which value counts)")
        let escaped = good.replacingOccurrences(of: "\"q1\" : \"1460\"", with: "\"q1\" : \"1460\", \"q\\u0031\" : \"1\"")
        #expect(rejection(Data(escaped.utf8))?.hasPrefix("answers has the key 'q1' twice") == true)
        let topLevel = good.replacingOccurrences(of: "\"lab\" : ", with: "\"lab\" : \"other\", \"lab\" : ")
        #expect(rejection(Data(topLevel.utf8))?.hasPrefix("the document has the key 'lab' twice") == true)
    }

    @Test func countsAreCappedBeforeDecoding() throws {
        var s = Self.submission()
        s.answers = Dictionary(uniqueKeysWithValues: (0..<257).map { ("q\($0)", "1") })
        #expect(rejection(try Self.forge(s)) == "too many answers: more than the 256 allowed")
        s = Self.submission()
        s.runs[0].parameters = Dictionary(uniqueKeysWithValues: (0..<33).map { ("p\($0)", "1") })
        #expect(rejection(try Self.forge(s)) == "too many parameters in runs[0]: more than the 32 allowed")
        s = Self.submission()
        s.answers["q1"] = String(repeating: "9", count: 5000)
        #expect(rejection(try Self.forge(s)) == #"answers["q1"] is longer than 4096 bytes"#)
        #expect(throws: SubmissionError("the answer to 'q1' is longer than 4096 bytes")) { try s.validate(limits: .default) }
    }

    @Test func aHostileLabValueIsNeitherEchoedWholeNorRaw() throws {
        var s = Self.submission()
        s.lab = "\u{1B}]8;;http://evil\u{7}" + String(repeating: "x", count: 1 << 20)
        let reason = try #require(rejection(try Self.forge(s)))
        #expect(reason == "lab is longer than 1024 bytes")
        s.lab = "\u{1B}[2Jwrong-lab"
        let decoded = try Submission.decode(try Self.forge(s))
        #expect(throws: SubmissionError("the submission is for lab '\\u{1B}[2Jwrong-lab', not journal-replay")) {
            try decoded.verifyParameters(lab: F.lab(), secret: Self.secret)
        }
    }

    @Test func specialFilesAreRefusedBeforeReadingWithOneLine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let fifo = dir.path("fifo.json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        func reason(_ url: URL) -> String? {
            do { _ = try Submission.read(url); return nil } catch { return "\(error)" }
        }
        #expect(reason(fifo) == "cannot read the file: it is a FIFO (named pipe), not a regular file")
        #expect(reason(URL(fileURLWithPath: "/dev/zero")) == "cannot read the file: it is a character device, not a regular file")
        #expect(reason(dir.url) == "cannot read the file: it is a directory, not a regular file")
        let big = dir.path("big.json")
        #expect(FileManager.default.createFile(atPath: big.path, contents: nil) && truncate(big.path, 3 << 30) == 0)
        #expect(reason(big) == "the file is over the limit of 32 MiB")
        let good = try dir.write("good.json", try Self.submission().encoded())
        #expect(try Submission.read(good).student == "alice")
    }
}
