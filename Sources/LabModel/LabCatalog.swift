import Foundation
import VMLabSupport

/// The labs of a course folder (Labs/NAME/lab.yaml), so commands can list them and load one
/// by name with its image recipe checked against the course's Images/.
public struct LabCatalog: Sendable {
    public let layout: CourseLayout

    public init(layout: CourseLayout) { self.layout = layout }

    /// The folder of lab `name` (whether or not it exists).
    public func directory(of name: String) -> URL { layout.labDirectory(name) }

    /// The names of the folders under Labs/ that hold a lab.yaml, sorted; a folder without one
    /// (work in progress, shared files) is not a lab.
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: layout.labs.path)) ?? []
        return entries.filter { name in
            !name.hasPrefix(".") && FileManager.default.fileExists(atPath: layout.labFile(name).path)
        }.sorted()
    }

    /// Loads and validates lab `name`; a missing lab says which labs exist.
    public func load(_ name: String) throws -> LabSpec {
        let file = layout.labFile(name)
        guard !name.isEmpty, !name.contains("/"), FileManager.default.fileExists(atPath: file.path) else {
            let known = names()
            throw VMLabError(.notFound, "no lab '\(name)' in \(layout.labs.path) "
                             + (known.isEmpty ? "(there are no labs there yet)" : "(labs: \(known.joined(separator: ", ")))"))
        }
        return try LabSpec.load(file, imagesDirectory: layout.images)
    }
}
