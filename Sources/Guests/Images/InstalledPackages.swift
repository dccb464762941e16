import Foundation
import LabModel
import LabStore
import VMLabSupport

/// The host's installed Debian packages and their dependencies, read with one
/// `dpkg-query`: an image's content is its packages' dependency closure, so the closure's
/// versions go into the image digest (a library upgrade rebuilds the image) and its manifest.
package struct InstalledPackages: Sendable, Equatable {
    struct Package: Sendable, Equatable {
        var version: String
        /// Pre-Depends and Depends; each inner list is one `a | b` group.
        var dependencies: [[String]]
    }

    var packages: [String: Package]
    /// Virtual package name -> installed packages that provide it.
    var providers: [String: [String]]

    static let queryFormat = "${db:Status-Status}\t${Package}\t${Version}\t${Provides}\t${Pre-Depends}\t${Depends}\n"

    static func query() async throws -> InstalledPackages {
        let result = try await Subprocess.run(["dpkg-query", "-W", "-f", queryFormat])
        return parse(result.stdout)
    }

    /// Parses `dpkg-query -W -f queryFormat` output; packages not fully installed are left out.
    static func parse(_ text: String) -> InstalledPackages {
        var packages: [String: Package] = [:]
        var providers: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6, fields[0] == "installed", packages[fields[1]] == nil else { continue }
            let name = fields[1]
            packages[name] = Package(version: fields[2], dependencies: relations(fields[4]) + relations(fields[5]))
            for virtual in relations(fields[3]).joined() { providers[virtual, default: []].append(name) }
        }
        return InstalledPackages(packages: packages, providers: providers)
    }

    /// `libc6 (>= 2.34), debconf | debconf-2.0, python3:any` -> [[libc6], [debconf, debconf-2.0], [python3]].
    static func relations(_ field: String) -> [[String]] {
        field.split(separator: ",").map { group in
            group.split(separator: "|").compactMap { alternative in
                let name = alternative.trimmingCharacters(in: .whitespaces)
                    .prefix { $0 != " " && $0 != "(" && $0 != ":" && $0 != "[" }
                return name.isEmpty ? nil : String(name)
            }
        }.filter { !$0.isEmpty }
    }

    /// `roots` and every installed package they need, transitively. An `a | b` group is
    /// met by its installed alternatives or, when none is a real installed package, by
    /// the installed providers of the first virtual one: those the roots list when there
    /// are any (a recipe naming `mawk` means mawk is its `awk`), else all of them.
    /// Roots that are not installed are returned in `missing`.
    func closure(of roots: [String]) -> (packages: [String: String], missing: [String]) {
        var seen: Set<String> = []
        var queue = roots.map { String($0.split(separator: ":").first ?? Substring($0)) }
        let chosen = Set(queue)
        let missing = queue.filter { packages[$0] == nil }
        while let name = queue.popLast() {
            guard let package = packages[name], seen.insert(name).inserted else { continue }
            for group in package.dependencies {
                let real = group.filter { packages[$0] != nil }
                guard real.isEmpty else { queue.append(contentsOf: real); continue }
                let provided = group.lazy.compactMap { providers[$0] }.first ?? []
                let preferred = provided.filter(chosen.contains)
                queue.append(contentsOf: preferred.isEmpty ? provided : preferred)
            }
        }
        return (Dictionary(uniqueKeysWithValues: seen.map { ($0, packages[$0]!.version) }), missing)
    }
}
