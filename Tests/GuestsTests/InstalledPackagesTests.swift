@testable import Guests
@testable import LabModel
@testable import LabStore
import Testing
@testable import VMLabSupport

/// Guards the dependency closure that decides an image's digest and manifest.
@Suite struct InstalledPackagesTests {
    static let dpkg = [
        "installed\tbase-files\t12.4\t\tawk\t",
        "installed\tmawk\t1.3.4\tawk\t\tlibc6 (>= 2.34)",
        "installed\tgawk\t5.2.1\tawk\t\tlibc6 (>= 2.34), libreadline8 (>= 6.0)",
        "installed\tlibreadline8\t8.2\t\t\tlibc6",
        "installed\tlibc6\t2.36-9\t\t\tlibgcc-s1",
        "installed\tlibgcc-s1\t12.2.0\t\t\t",
        "installed\tstress-ng\t0.15\t\t\tlibc6 (>= 2.34), libjpeg62-turbo (>= 1.3.1) | libjpeg62 [amd64], zlib1g:any",
        "installed\tlibjpeg62-turbo\t2.1.5\t\t\tlibc6",
        "installed\tzlib1g\t1:1.2.13\t\t\tlibc6",
        "installed\tnetcat-openbsd\t1.219\tnetcat\t\tlibbsd0, libc6 | netcat-traditional",
        "config-files\tlibbsd0\t0.11\t\t\t",
        "installed\tdebconf\t1.5\tdebconf-2.0\t\t",
        "installed\tcdebconf\t0.270\tdebconf-2.0\t\t",
        "installed\tadduser\t3.134\t\t\tpasswd, debconf | debconf-2.0",
        "installed\tpasswd\t1:4.13\t\t\tlibc6",
    ].joined(separator: "\n") + "\n"

    @Test func relationsDropVersionsArchitecturesAndQualifiers() {
        #expect(InstalledPackages.relations("libc6 (>= 2.34), libjpeg62-turbo (>= 1.3.1) | libjpeg62 [amd64], zlib1g:any")
                == [["libc6"], ["libjpeg62-turbo", "libjpeg62"], ["zlib1g"]])
        #expect(InstalledPackages.relations("").isEmpty)
        #expect(InstalledPackages.relations("  ,  ").isEmpty)
    }

    @Test func parseKeepsOnlyInstalledPackagesAndIndexesProviders() {
        let installed = InstalledPackages.parse(Self.dpkg)
        #expect(installed.packages["libbsd0"] == nil, "config-files is not installed")
        #expect(installed.packages["stress-ng"]?.version == "0.15")
        #expect(installed.providers["awk"]?.sorted() == ["gawk", "mawk"])
    }

    @Test func closureFollowsDependenciesTransitively() {
        let (packages, missing) = InstalledPackages.parse(Self.dpkg).closure(of: ["stress-ng"])
        #expect(missing.isEmpty)
        #expect(packages == ["stress-ng": "0.15", "libc6": "2.36-9", "libgcc-s1": "12.2.0", "libjpeg62-turbo": "2.1.5",
                             "zlib1g": "1:1.2.13"])
    }

    @Test func aVirtualDependencyPrefersTheProviderTheRecipeNames() {
        let installed = InstalledPackages.parse(Self.dpkg)
        #expect(installed.closure(of: ["base-files", "mawk"]).packages.keys.sorted() == ["base-files", "libc6", "libgcc-s1", "mawk"])
        // Naming neither: every installed provider comes in.
        #expect(installed.closure(of: ["base-files"]).packages["gawk"] != nil)
        #expect(installed.closure(of: ["base-files"]).packages["libreadline8"] != nil)
    }

    @Test func aRealAlternativeWinsOverProvidersOfAVirtualOne() {
        let packages = InstalledPackages.parse(Self.dpkg).closure(of: ["adduser"]).packages
        #expect(packages["debconf"] != nil)
        #expect(packages["cdebconf"] == nil)
    }

    @Test func missingRootsAreReportedAndUninstalledDependenciesSkipped() {
        let (packages, missing) = InstalledPackages.parse(Self.dpkg).closure(of: ["netcat-openbsd", "hping3", "libc6:amd64"])
        #expect(missing == ["hping3"])
        #expect(packages.keys.sorted() == ["libc6", "libgcc-s1", "netcat-openbsd"])
    }
}
