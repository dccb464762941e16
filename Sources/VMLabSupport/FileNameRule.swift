import Foundation

/// The one rule for artifact names, wherever one comes from (a lab's `artifacts`, a
/// `copy-out` step, a rubric, a reference solution, a submission): artifacts become files
/// in a run's folder and on the teacher's machine, so a name must stay one plain, visible
/// file name there.
public enum ArtifactName {
    public static let maxLength = 64

    /// Why `name` cannot be an artifact name, or nil when it can: 1 to 64 characters, no
    /// `/` or `\`, no NUL or other control characters, no `..`, not starting with `.`.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "an artifact name cannot be empty" }
        if name.count > maxLength { return "artifact name '\(name.prefix(maxLength))…' is longer than \(maxLength) characters" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value)
            || $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
            return "artifact name \(name.debugDescription) contains control characters"
        }
        if name.contains("/") || name.contains("\\") { return "artifact name '\(name)' contains a path separator" }
        if name.contains("..") { return "artifact name '\(name)' contains '..'" }
        if name.hasPrefix(".") { return "artifact name '\(name)' starts with '.'" }
        return nil
    }
}
