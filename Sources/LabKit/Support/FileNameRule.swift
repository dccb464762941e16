import Foundation

/// The one rule for names of files vmlab keeps from guests and bundles (artifacts).
public enum ArtifactName {
    /// nil when `name` is a plain file name, else why not (one line).
    public static func problem(_ name: String) -> String? {
        if name.isEmpty || name.count > 64 { return "a file name has 1 to 64 characters" }
        if name == "." || name == ".." || name.hasPrefix(".") { return "'\(name)' must not start with a dot" }
        if name.contains("/") || name.contains("\\") { return "'\(name)' must be a plain file name (no '/' or '\\')" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return "a file name cannot contain control characters"
        }
        return nil
    }
}
