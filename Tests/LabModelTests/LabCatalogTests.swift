import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

@Suite struct LabCatalogTests {
    static func lab(image: String = "base") -> String {
        """
        title: T
        summary: S
        image: \(image)
        vms: {box: {}}
        experiments: {e: {steps: [{crash: box}]}}
        """
    }

    @Test func namesAreTheFoldersWithALabFileSorted() throws {
        let course = try TempCourse()
        defer { course.remove() }
        try course.writeLab("zfs-tuning", Self.lab())
        try course.writeLab("journal-replay", Self.lab())
        try FileManager.default.createDirectory(at: course.root.appendingPathComponent("Labs/draft"),
                                                withIntermediateDirectories: true)
        try "notes".write(to: course.root.appendingPathComponent("Labs/README.md"), atomically: true, encoding: .utf8)
        #expect(LabCatalog(layout: CourseLayout(root: course.root)).names() == ["journal-replay", "zfs-tuning"])
    }

    @Test func noLabsFolderMeansNoLabs() throws {
        let course = try TempCourse()
        defer { course.remove() }
        #expect(LabCatalog(layout: CourseLayout(root: course.root)).names().isEmpty)
    }

    @Test func loadsALabByName() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("journal-replay", Self.lab())
        let catalog = LabCatalog(layout: CourseLayout(root: course.root))
        let lab = try catalog.load("journal-replay")
        #expect(lab.name == "journal-replay")
        #expect(lab.source == url)
        #expect(catalog.directory(of: "journal-replay").standardizedFileURL
                == url.deletingLastPathComponent().standardizedFileURL)
    }

    @Test func checksTheImageAgainstTheCoursesImages() throws {
        let course = try TempCourse()
        defer { course.remove() }
        try course.writeLab("journal-replay", Self.lab(image: "missing"))
        #expect {
            _ = try LabCatalog(layout: CourseLayout(root: course.root)).load("journal-replay")
        } throws: { error in
            guard let errors = (error as? SpecErrors)?.errors else { return false }
            return errors.contains { $0.line == 3 && $0.field == "image" && $0.message.contains("(recipes: base)") }
        }
    }

    @Test(arguments: ["journal", "", "../Images", "zfs-tuning/lab.yaml"])
    func unknownLabListsTheKnownOnes(_ name: String) throws {
        let course = try TempCourse()
        defer { course.remove() }
        try course.writeLab("journal-replay", Self.lab())
        try course.writeLab("zfs-tuning", Self.lab())
        #expect {
            _ = try LabCatalog(layout: CourseLayout(root: course.root)).load(name)
        } throws: { error in
            guard let error = error as? VMLabError else { return false }
            return error.code == .notFound && error.message.contains("no lab '\(name)'")
                && error.message.contains("(labs: journal-replay, zfs-tuning)")
        }
    }

    @Test func unknownLabInAnEmptyCourse() throws {
        let course = try TempCourse()
        defer { course.remove() }
        #expect {
            _ = try LabCatalog(layout: CourseLayout(root: course.root)).load("journal")
        } throws: { error in
            (error as? VMLabError)?.message.contains("there are no labs there yet") == true
        }
    }
}
