import Testing
@testable import VMLabSupport

/// Guards the one artifact-name rule every reader of artifact names shares.
@Suite("Artifact names")
struct ArtifactNameTests {
    @Test(arguments: ["ruleset.nft", "dmesg.txt", "a", "with space", "${n}.log", "é", String(repeating: "n", count: 64)])
    func plainFileNamesAreAccepted(name: String) {
        #expect(ArtifactName.problem(name) == nil)
    }

    @Test(arguments: [
        ("", "cannot be empty"), (String(repeating: "n", count: 65), "longer than 64 characters"),
        ("a/b", "contains a path separator"), ("a\\b", "contains a path separator"), ("/etc", "contains a path separator"),
        ("nul\u{0}", "control characters"), ("tab\t", "control characters"), ("del\u{7F}", "control characters"),
        ("c1\u{85}", "control characters"), ("bidi\u{202E}", "control characters"),
        (".", "starts with '.'"), ("..", "contains '..'"), ("a..b", "contains '..'"), (".hidden", "starts with '.'"),
    ])
    func unsafeNamesGetAOneLineReason(name: String, reason: String) throws {
        let problem = try #require(ArtifactName.problem(name))
        #expect(problem.contains(reason), "\(problem)")
        #expect(!problem.contains("\n"))
    }
}
