import Foundation

/// Why `id` cannot be a student id, or nil: `[A-Za-z0-9._@-]{1,64}`, not starting with `.`
/// (ids name report files, so `.` and `..` must not be possible).
public func studentIDProblem(_ id: String) -> String? {
    let allowed = id.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._@-".unicodeScalars.contains($0)
    }
    let shown = id.count > 64 ? String(id.prefix(64)) + "…" : id
    guard (1...64).contains(id.unicodeScalars.count), allowed, !id.hasPrefix(".") else {
        return "student id \(shown.debugDescription) is not valid: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
            + "not starting with '.'"
    }
    return nil
}
