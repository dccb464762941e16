import Foundation
import VMLabSupport

/// A push-mode backup of some of a running domain's disks (`<domainbackup>`): each listed
/// disk is copied, as it was when the backup began, into a qcow2 file of its own; every other
/// disk is left out. All listed disks share one point in time, so a data disk and the disk a
/// program writes its acknowledgements to are seen at the same instant.
public struct DiskBackupDefinition: Sendable, Equatable {
    /// Target device (vdb) -> file the copy goes to.
    public var copies: [(target: String, file: String)]
    /// Every disk target of the domain, so the ones not copied are named with backup='no'.
    public var allTargets: [String]

    public init(copies: [(target: String, file: String)], allTargets: [String]) {
        self.copies = copies
        self.allTargets = allTargets
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.allTargets == b.allTargets && a.copies.map(\.target) == b.copies.map(\.target) && a.copies.map(\.file) == b.copies.map(\.file)
    }

    public var xml: String {
        let files = Dictionary(copies.map { ($0.target, $0.file) }, uniquingKeysWith: { a, _ in a })
        let disks = allTargets.map { target in
            guard let file = files[target] else { return XMLTree("disk", ["name": target, "backup": "no"]) }
            return XMLTree("disk", ["name": target, "backup": "yes", "type": "file"], children: [
                XMLTree("target", ["file": file]),
                XMLTree("driver", ["type": "qcow2"]),
            ])
        }
        return XMLTree("domainbackup", ["mode": "push"], children: [XMLTree("disks", children: disks)]).render()
    }
}
