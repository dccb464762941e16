import Foundation
import Testing
@testable import VMLabSupport

/// Guards running host tools: output capture, exit-status errors with stderr, and missing tools.
@Suite("Subprocess")
struct SubprocessTests {
    @Test func echoByAbsolutePath() async throws {
        let result = try await Subprocess.run(["/bin/echo", "hello", "world"])
        #expect(result.status == 0)
        #expect(result.stdout == "hello world\n")
        #expect(result.stderr == "")
    }

    @Test func toolIsFoundOnPath() throws {
        let result = try Subprocess.runBlocking(["echo", "-n", "x"])
        #expect(result.stdout == "x")
    }

    @Test func failingToolThrowsFailed() async throws {
        let error = await #expect(throws: VMLabError.self) { try await Subprocess.run(["false"]) }
        #expect(error?.code == .failed)
        #expect(error?.message == "false exited with status 1")
    }

    @Test func failureCarriesStatusAndStderr() throws {
        let error = #expect(throws: VMLabError.self) {
            try Subprocess.runBlocking(["sh", "-c", "echo partial; echo 'disk full' >&2; exit 3"])
        }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("exited with status 3") == true)
        #expect(error?.description.contains("disk full") == true)
    }

    @Test func uncheckedFailureReturnsTheStatus() throws {
        let result = try Subprocess.runBlocking(["sh", "-c", "echo out; echo err >&2; exit 7"], check: false)
        #expect(result.status == 7)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }

    @Test func missingToolIsUnavailable() async throws {
        let error = await #expect(throws: VMLabError.self) {
            try await Subprocess.run(["vmlab-definitely-not-installed-tool", "--version"])
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("vmlab-definitely-not-installed-tool") == true)
    }

    @Test func emptyArgvIsUnavailable() throws {
        let error = #expect(throws: VMLabError.self) { try Subprocess.runBlocking([]) }
        #expect(error?.code == .unavailable)
    }

    @Test func environmentIsMergedIntoTheInherited() throws {
        let result = try Subprocess.runBlocking(["sh", "-c", #"printf '%s|%s' "$VMLAB_TEST_VAR" "${PATH:+has-path}""#],
                                                environment: ["VMLAB_TEST_VAR": "merged"])
        #expect(result.stdout == "merged|has-path")
    }

    @Test func largeOutputOnBothPipesDoesNotDeadlock() async throws {
        let result = try await Subprocess.run(["sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"])
        #expect(result.stdout.utf8.count == 300_000)
        #expect(result.stderr.utf8.count == 200_000)
    }

    @Test func stdinIsEmpty() throws {
        let result = try Subprocess.runBlocking(["sh", "-c", "wc -c"])
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func which() {
        #expect(Subprocess.which("/bin/sh") == "/bin/sh")
        #expect(Subprocess.which("/nonexistent/tool") == nil)
        #expect(Subprocess.which("vmlab-definitely-not-installed-tool") == nil)
        let sh = Subprocess.which("sh")
        #expect(sh?.hasSuffix("/sh") == true)
        #expect(sh.map { FileManager.default.isExecutableFile(atPath: $0) } == true)
    }

    // MARK: runUntil (`exec` so the process we end is the one that sleeps)

    @Test func runUntilReturnsOnceTheMarkerAppearsAndEndsTheProcess() async throws {
        let started = ContinuousClock.now
        // The process would run 300 s: returning well before proves the marker ended the wait
        // (bounds loose enough for a loaded machine).
        let outcome = try await Subprocess.runUntil(marker: "READY", ["sh", "-c", "echo booting; echo READY; exec sleep 300"],
                                                    timeout: .seconds(120))
        #expect(outcome.found)
        #expect(!outcome.exited)
        #expect(outcome.tail.contains("booting"))
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    @Test func runUntilSeesTheMarkerOnStderr() async throws {
        let outcome = try await Subprocess.runUntil(marker: "READY", ["sh", "-c", "echo READY >&2; exec sleep 30"],
                                                    timeout: .seconds(20))
        #expect(outcome.found)
    }

    @Test func runUntilReportsAnEarlyExitWithItsOutput() async throws {
        let outcome = try await Subprocess.runUntil(marker: "READY", ["sh", "-c", "echo 'kernel panic' >&2; exit 1"],
                                                    timeout: .seconds(20))
        #expect(!outcome.found)
        #expect(outcome.exited)
        #expect(outcome.tail.contains("kernel panic"))
    }

    @Test func runUntilGivesUpAfterTheTimeout() async throws {
        let outcome = try await Subprocess.runUntil(marker: "READY", ["sh", "-c", "exec sleep 30"], timeout: .milliseconds(300))
        #expect(!outcome.found)
        #expect(!outcome.exited)
    }

    @Test func runUntilEndsWhatTheChildStartedToo() async throws {
        // What the KVM probe needs: `timeout` (the child) runs QEMU (the grandchild), and
        // killing only the child would leave the grandchild spinning.
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-grandchild-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        _ = try await Subprocess.runUntil(marker: "READY", ["sh", "-c", "sleep 300 & echo $! > \(pidFile.path); wait"],
                                          timeout: .milliseconds(500))
        let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(pid, 0) != 0 || (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") == true
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone, "the grandchild \(pid) outlived runUntil")
    }

    @Test func runUntilWithAMissingToolIsUnavailable() async throws {
        let error = await #expect(throws: VMLabError.self) {
            try await Subprocess.runUntil(marker: "x", ["vmlab-definitely-not-installed-tool"], timeout: .seconds(1))
        }
        #expect(error?.code == .unavailable)
    }

    @Test func outputBufferCollectsChunksFromManyThreads() async {
        let buffer = OutputBuffer()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<100 { buffer.append(Data("x".utf8)) } }
            }
        }
        #expect(buffer.text.count == 800)
        #expect(buffer.contains("xx"))
        #expect(!buffer.contains("y"))
    }
}
