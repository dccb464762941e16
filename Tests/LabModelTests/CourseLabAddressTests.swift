import Foundation
@testable import LabModel
import Testing

/// The course's labs send traffic only to their own guests: every IPv4 address written in a
/// lab (its lab.yaml, the files it copies into guests, its reference solution) lies on one of
/// the lab's own subnets. A typo that would point a scan or a flood at an address off the
/// lab's networks fails here, before any guest runs it.
struct CourseLabAddressTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var catalog: LabCatalog { LabCatalog(layout: CourseLayout(root: root)) }

    @Test func theCourseHasLabsWithAddresses() {
        #expect(Self.catalog.names().contains("net-attack-nat"))
    }

    @Test(arguments: catalog.names())
    func everyAddressWrittenInALabIsOnItsOwnSubnets(_ name: String) throws {
        let lab = try Self.catalog.load(name)
        let subnets = lab.vms.flatMap(\.nics).compactMap { $0.address.flatMap(IPv4Network.init) }
            + lab.networks.compactMap(\.address)
        for file in Self.files(of: name) {
            let text = try String(contentsOf: file, encoding: .utf8)
            for literal in Self.addressLiterals(in: text) {
                let address = try #require(IPv4Network(literal.contains("/") ? literal : literal + "/32"),
                                           "\(file.path): \(literal) is not an IPv4 address")
                #expect(subnets.contains { $0.contains(address) },
                        "\(file.path): \(literal) is on none of lab \(name)'s subnets (\(Set(subnets.map(\.subnet)).sorted()))")
            }
        }
    }

    @Test func aLiteralOffTheLabIsFound() {
        #expect(Self.addressLiterals(in: "hping3 -S 198.18.30.2; nmap 10.0.0.0/8 # 1.2 and 192.0.2.1.") == ["198.18.30.2", "10.0.0.0/8", "192.0.2.1"])
    }

    /// lab.yaml, everything under files/, and the reference solution's files.
    static func files(of name: String) -> [URL] {
        let lab = root.appendingPathComponent("Labs/\(name)", isDirectory: true)
        var files = [lab.appendingPathComponent("lab.yaml")]
        for folder in [lab.appendingPathComponent("files"), root.appendingPathComponent("Grading/\(name)/solution")] {
            let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
            while let url = walker?.nextObject() as? URL {
                if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(url) }
            }
        }
        return files
    }

    /// Dotted quads, with their prefix length when written.
    static func addressLiterals(in text: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"(?<![0-9.])[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?(?![0-9]|\.[0-9])"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        }
    }
}
