import Foundation
@testable import Grading
@testable import LabModel
import Testing
@testable import VMLabSupport

/// The strict model against what vmlab itself produces for the course's real labs: each
/// reference solution, through the file format, is accepted and earns every point that
/// needs no replay (derived measures, per-student parameters and free-text answers included).
@Suite("Grading: the course's labs")
struct GradingCourseTests {
    @Test(arguments: ["cpu-scheduler", "journal-replay", "mem-overcommit", "metering", "net-attack", "net-attack-nat"])
    func referenceSolutionsAreAcceptedAndEarnEveryLocalPoint(_ name: String) async throws {
        let lab = try CourseBundles.lab(name)
        let bundle = try Submission.decode(try CourseBundles.referenceSubmission(name).encoded())
        try bundle.verifyParameters(lab: lab, secret: CourseBundles.secret)
        let rubric = try CourseBundles.rubric(lab)
        let report = await Grader(rubric: rubric, lab: lab).grade(Evidence(submission: bundle, lab: lab, secret: CourseBundles.secret),
                                                                  replay: nil)
        #expect(report.rejected == nil, "\(name): \(report.rejected ?? "")")
        for check in rubric.checks where check.local {
            #expect(report.check(check.id)?.passed == true, "\(name) \(check.id): \(report.check(check.id)?.detail ?? "missing")")
        }
    }
}
