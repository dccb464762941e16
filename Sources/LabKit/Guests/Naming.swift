import Foundation

/// Names of everything vmlab creates in libvirt. All start with `vmlab-` so a person (and
/// `vmlab gc`) can tell them apart from anything else on the host.
public enum Naming {
    public static let prefix = "vmlab-"

    /// Lowercase letters, digits and dashes, starting with a letter, at most 40 characters.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.count <= 40 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// The libvirt domain of a stand-alone guest created with `vmlab vm create`.
    public static func guestDomain(_ name: String) -> String { "\(prefix)vm-\(name)" }
}
