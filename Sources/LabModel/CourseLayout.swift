import Foundation

/// Where a course keeps its files. The one place the folder layout is spelled out:
///
///     Labs/NAME/lab.yaml                 a lab, with its handout and files
///     Labs/common/                       files several labs copy in (`../common/FILE`)
///     Images/NAME.yaml                   an image recipe (files in Images/NAME/)
///     Grading/NAME/rubric.yaml           a lab's rubric (a course may keep Grading/ private)
///     Grading/NAME/solution/solution.yaml  its reference solution
public struct CourseLayout: Sendable, Equatable {
    /// The course folder.
    public let root: URL

    public init(root: URL) { self.root = root }

    public var labs: URL { root.appendingPathComponent("Labs", isDirectory: true) }
    public var images: URL { root.appendingPathComponent("Images", isDirectory: true) }
    public var grading: URL { root.appendingPathComponent("Grading", isDirectory: true) }

    public func labDirectory(_ lab: String) -> URL { labs.appendingPathComponent(lab, isDirectory: true) }
    public func labFile(_ lab: String) -> URL { labDirectory(lab).appendingPathComponent("lab.yaml") }
    public func imageRecipe(_ image: String) -> URL { images.appendingPathComponent("\(image).yaml") }
    public func rubric(_ lab: String) -> URL { grading.appendingPathComponent("\(lab)/rubric.yaml") }
    public func solution(_ lab: String) -> URL { grading.appendingPathComponent("\(lab)/solution/solution.yaml") }

    /// Whether `folder` looks like a course: it has an Images/ folder.
    public static func isCourse(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: CourseLayout(root: folder).images.path)
    }

    public func hasRubric(_ lab: String) -> Bool { FileManager.default.fileExists(atPath: rubric(lab).path) }
}
