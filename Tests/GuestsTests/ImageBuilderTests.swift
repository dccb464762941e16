import Foundation
@testable import Guests
@testable import LabModel
@testable import LabStore
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the image content digest: it changes with every input that shapes the image and only then.
@Suite("ImageBuilder.digest")
struct ImageBuilderTests {
    static let recipeText = """
    name: web
    packages: [dash, mount, qemu-guest-agent, bash, coreutils]
    init: web/init
    files: {/etc/motd: web/motd}
    """
    static let versions = ["dash": "0.5.12-2", "mount": "2.38.1-5", "qemu-guest-agent": "1:7.2+dfsg-7",
                           "bash": "5.2.15-2+b2", "coreutils": "9.1-1"]

    /// A recipe folder in a temp dir; returns the loaded recipe.
    func makeRecipe(in tmp: TempDir, folder: String = "Images", text: String = recipeText,
                    initScript: String = "#!/bin/sh\nexec sh\n", motd: String = "hello\n") throws -> ImageRecipe {
        try tmp.write("\(folder)/web/init", initScript)
        try tmp.write("\(folder)/web/motd", motd)
        return try ImageRecipe.load(try tmp.write("\(folder)/web.yaml", text))
    }

    func digest(_ recipe: ImageRecipe, kernel: String = "6.1.0-18-amd64", versions: [String: String] = versions) throws -> String {
        try ImageBuilder.digest(recipe: recipe, kernelRelease: kernel, versions: versions)
    }

    @Test func digestIsSHA256Hex() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let d = try digest(makeRecipe(in: tmp))
        #expect(d.count == 64)
        #expect(d.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func stableForTheSameInputs() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let recipe = try makeRecipe(in: tmp)
        #expect(try digest(recipe) == digest(recipe))
        #expect(try digest(recipe) == digest(ImageRecipe.load(recipe.source)))
    }

    @Test func independentOfWhereTheCourseLives() throws {
        let a = try TempDir(), b = try TempDir()
        defer { a.remove(); b.remove() }
        #expect(try digest(makeRecipe(in: a)) == digest(makeRecipe(in: b, folder: "elsewhere/Images")))
    }

    @Test func changesWithTheRecipeText() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let before = try digest(makeRecipe(in: tmp))
        let after = try digest(makeRecipe(in: tmp, text: Self.recipeText + "\nsize: 1G\n"))
        #expect(before != after)
    }

    @Test func changesWithTheInitScript() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let before = try digest(makeRecipe(in: tmp))
        let after = try digest(makeRecipe(in: tmp, initScript: "#!/bin/sh\nexec bash\n"))
        #expect(before != after)
    }

    @Test func changesWithAnExtraFile() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let before = try digest(makeRecipe(in: tmp))
        let after = try digest(makeRecipe(in: tmp, motd: "hello!\n"))
        #expect(before != after)
    }

    @Test func changesWithTheKernelRelease() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let recipe = try makeRecipe(in: tmp)
        #expect(try digest(recipe, kernel: "6.1.0-18-amd64") != digest(recipe, kernel: "6.1.0-20-amd64"))
    }

    @Test func changesWithAPackageVersion() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let recipe = try makeRecipe(in: tmp)
        var bumped = Self.versions
        bumped["dash"] = "0.5.12-3"
        #expect(try digest(recipe) != digest(recipe, versions: bumped))
    }

    @Test func changesWhenAPackageIsAdded() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let recipe = try makeRecipe(in: tmp)
        var more = Self.versions
        more["nginx"] = "1.22.1-9"
        #expect(try digest(recipe) != digest(recipe, versions: more))
    }

    @Test func movingContentBetweenFilesChangesTheDigest() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let a = try digest(makeRecipe(in: tmp, initScript: "ab", motd: "c"))
        let b = try digest(makeRecipe(in: tmp, initScript: "a", motd: "bc"))
        #expect(a != b)
    }

    @Test func missingPayloadFileThrows() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let recipe = try makeRecipe(in: tmp)
        try FileManager.default.removeItem(at: tmp.path("Images/web/motd"))
        #expect(throws: (any Error).self) { _ = try digest(recipe) }
    }
}
