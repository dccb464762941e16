import Foundation
import Testing

/// The layer rules of docs/architecture.md, enforced: every `import` in Sources/ must be
/// allowed by the table there, so an arrow pointing up or sideways fails the build's tests.
struct LayerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let alwaysAllowed: Set<String> = ["Foundation", "FoundationEssentials", "FoundationXML", "Dispatch", "Glibc", "Musl"]

    /// target -> modules it may import, read from the table in docs/architecture.md.
    static func allowedImports() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var table: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 6 else { continue }
            let targets = cells[1].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
            let allowed = (cells[3] + "," + cells[4]).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            for target in targets { table[target] = Set(allowed) }
        }
        return table
    }

    /// target -> (file, imported module) for every import statement under Sources/.
    static func imports() throws -> [String: [(file: String, module: String)]] {
        let sources = root.appendingPathComponent("Sources")
        var result: [String: [(String, String)]] = [:]
        for target in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
            let dir = sources.appendingPathComponent(target)
            guard let walker = FileManager.default.enumerator(atPath: dir.path) else { continue }
            var found: [(String, String)] = []
            for case let file as String in walker where file.hasSuffix(".swift") || file.hasSuffix(".modulemap") {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    guard let i = words.firstIndex(of: "import"), words.count > i + 1,
                          words[..<i].allSatisfy({ ["@testable", "@_exported", "public", "package", "internal", "private"].contains($0) })
                    else { continue }
                    found.append(("\(target)/\(file)", words[i + 1].split(separator: ".").first.map(String.init) ?? words[i + 1]))
                }
            }
            result[target] = found
        }
        return result
    }

    @Test func everyImportIsAllowedByTheLayerTable() throws {
        let table = try Self.allowedImports()
        #expect(table.count >= 10, "docs/architecture.md lost its layer table")
        for (target, found) in try Self.imports() {
            guard let allowed = table[target] else {
                Issue.record("Sources/\(target) is not in the layer table of docs/architecture.md")
                continue
            }
            for (file, module) in found where !allowed.contains(module) && !Self.alwaysAllowed.contains(module) {
                Issue.record("Sources/\(file) imports \(module), which the layer table does not allow for \(target)")
            }
        }
    }

    @Test func theCLINeverSeesLibvirtOrLibguestfs() throws {
        let table = try Self.allowedImports()
        for module in ["Libvirt", "Guestfs", "CLibvirt", "CGuestfs"] {
            #expect(table["VMLabCLI"]?.contains(module) == false)
        }
        let users = try Self.imports().filter { $0.value.contains { ["CLibvirt", "CGuestfs"].contains($0.module) } }.keys
        #expect(Set(users).isSubset(of: ["Libvirt", "Guestfs"]), "only the bindings import C modules")
    }

    @Test func everyTargetHasItsOwnTestTarget() throws {
        let sources = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Sources").path)
        let tests = Set(try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Tests").path))
        for target in sources where !target.hasPrefix("C") && target != "vmlab" {
            #expect(tests.contains("\(target)Tests"), "Sources/\(target) has no Tests/\(target)Tests")
        }
    }
}
