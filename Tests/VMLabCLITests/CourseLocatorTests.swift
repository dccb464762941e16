import Foundation
@testable import Grading
@testable import Guests
@testable import LabModel
@testable import LabStore
@testable import Results
@testable import Runner
import Testing
@testable import VMLabCLI
@testable import VMLabSupport

/// Guards finding the course folder (the one holding Images/): --course, $VMLAB_COURSE, then walking up.
/// Serialized: the walk-up tests change the process's current directory (and restore it).
@Suite("CourseLocator", .serialized)
struct CourseLocatorTests {
    /// A temp tree; `course/` holds Images/, `course/Labs/lab1/deep` is a nested folder, `plain/a/b` has no Images/ above it.
    struct Tree {
        let root: URL
        var course: URL { root.appendingPathComponent("course", isDirectory: true) }
        var nested: URL { course.appendingPathComponent("Labs/lab1/deep", isDirectory: true) }
        var plain: URL { root.appendingPathComponent("plain/a/b", isDirectory: true) }

        init() throws {
            root = URL(fileURLWithPath: FileManager.default.temporaryDirectory
                .appendingPathComponent("vmlab-course-\(UUID().uuidString.prefix(8))").path).resolvingSymlinksInPath()
            for dir in [course.appendingPathComponent("Images"), nested, plain] {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            }
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    /// Runs `body` with the current directory set to `dir`, restoring it afterwards.
    func inDirectory<T>(_ dir: URL, _ body: () throws -> T) throws -> T {
        let fm = FileManager.default
        let saved = fm.currentDirectoryPath
        try #require(fm.changeCurrentDirectoryPath(dir.path))
        defer { _ = fm.changeCurrentDirectoryPath(saved) }
        return try body()
    }

    func same(_ a: URL, _ b: URL) -> Bool {
        a.resolvingSymlinksInPath().standardizedFileURL.path == b.resolvingSymlinksInPath().standardizedFileURL.path
    }

    @Test func flagPointingAtACourseIsUsed() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let found = try CourseLocator.find(flag: tree.course.path, environment: [:])
        #expect(same(found, tree.course))
    }

    @Test func flagWithoutImagesIsNotFound() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let error = #expect(throws: VMLabError.self) { _ = try CourseLocator.find(flag: tree.plain.path, environment: [:]) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains(tree.plain.path) == true)
        #expect(error?.message.contains("--course") == true)
    }

    @Test func environmentIsUsedWithoutAFlag() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let found = try CourseLocator.find(flag: nil, environment: ["VMLAB_COURSE": tree.course.path])
        #expect(same(found, tree.course))
    }

    @Test func flagBeatsTheEnvironment() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let error = #expect(throws: VMLabError.self) {
            _ = try CourseLocator.find(flag: tree.plain.path, environment: ["VMLAB_COURSE": tree.course.path])
        }
        #expect(error?.code == .notFound)
    }

    @Test func environmentWithoutImagesIsNotFound() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let error = #expect(throws: VMLabError.self) {
            _ = try CourseLocator.find(flag: nil, environment: ["VMLAB_COURSE": tree.plain.path])
        }
        #expect(error?.code == .notFound)
    }

    @Test func walksUpFromANestedFolder() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let found = try inDirectory(tree.nested) { try CourseLocator.find(flag: nil, environment: [:]) }
        #expect(same(found, tree.course))
    }

    @Test func emptyEnvironmentValueFallsBackToWalkingUp() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let found = try inDirectory(tree.course) { try CourseLocator.find(flag: nil, environment: ["VMLAB_COURSE": ""]) }
        #expect(same(found, tree.course))
    }

    @Test func noImagesAnywhereAboveIsNotFound() throws {
        let tree = try Tree()
        defer { tree.remove() }
        // Precondition: nothing between the temp dir and / holds an Images/ folder.
        var dir = tree.root
        while dir.path != "/" {
            try #require(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("Images").path))
            dir.deleteLastPathComponent()
        }
        try #require(!FileManager.default.fileExists(atPath: "/Images"))
        let error = try inDirectory(tree.plain) {
            #expect(throws: VMLabError.self) { _ = try CourseLocator.find(flag: nil, environment: [:]) }
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("--course") == true)
    }
}
