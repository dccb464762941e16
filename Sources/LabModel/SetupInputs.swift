import Foundation

extension LabSpec {
    /// The parameter values the setup steps read, out of `values` (the values a start runs
    /// setup with). Two starts that agree on these, on the lab's files and on the image
    /// end setup in the same state, which is what a saved baseline may stand in for.
    /// Found by substitution, not by scanning text: a parameter counts when changing its
    /// value changes a setup step.
    public func setupInputs(_ values: [String: String]) throws -> [String: String] {
        let base = try setup.map { try $0.substituted(values) }
        var used: [String: String] = [:]
        for (name, value) in values {
            var changed = values
            changed[name] = value + "\u{1}vmlab-probe"
            // A step that cannot take the changed value at all reads it too.
            if (try? setup.map { try $0.substituted(changed) }) != base { used[name] = value }
        }
        return used
    }
}
