import Foundation
import VMLabSupport

/// The labs of a course folder (Labs/NAME/lab.yaml), so commands can list them and load one
/// by name with its image recipe checked against the course's Images/.
public struct LabCatalog: Sendable {
    /// The course folder: the one holding Labs/ and Images/.
    public let course: URL

    public init(course: URL) { self.course = course }

    var labsDirectory: URL { course.appendingPathComponent("Labs", isDirectory: true) }
    var imagesDirectory: URL { course.appendingPathComponent("Images", isDirectory: true) }

    /// The folder of lab `name` (whether or not it exists).
    public func directory(of name: String) -> URL {
        labsDirectory.appendingPathComponent(name, isDirectory: true)
    }

    /// The names of the folders under Labs/ that hold a lab.yaml, sorted; a folder without one
    /// (work in progress, shared files) is not a lab.
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: labsDirectory.path)) ?? []
        return entries.filter { name in
            !name.hasPrefix(".")
                && FileManager.default.fileExists(atPath: directory(of: name).appendingPathComponent("lab.yaml").path)
        }.sorted()
    }

    /// Loads and validates lab `name`; a missing lab says which labs exist.
    public func load(_ name: String) throws -> LabSpec {
        let file = directory(of: name).appendingPathComponent("lab.yaml")
        guard !name.isEmpty, !name.contains("/"), FileManager.default.fileExists(atPath: file.path) else {
            let known = names()
            throw VMLabError(.notFound, "no lab '\(name)' in \(labsDirectory.path) "
                             + (known.isEmpty ? "(there are no labs there yet)" : "(labs: \(known.joined(separator: ", ")))"))
        }
        return try LabSpec.load(file, imagesDirectory: imagesDirectory)
    }
}
