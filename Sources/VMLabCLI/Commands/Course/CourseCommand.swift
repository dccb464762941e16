import ArgumentParser
import Foundation
import LabModel
import VMLabSupport

/// `vmlab course keys`: the instructor's side of per-student values.
struct CourseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "course", abstract: "Instructor tasks for a whole course: students' keys.",
        subcommands: [Keys.self])

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one key file per student of a roster, from the course secret.",
            discussion: """
                Hand each student their own KEY file and have them start labs with \
                `vmlab lab start LAB --student-key KEY`: their values derive from it, and the course \
                secret never leaves this machine. The grader derives the same keys from the secret. \
                Keys are deterministic: rerunning with a longer roster keeps the existing files.
                """)

        @Option(help: ArgumentHelp(
            "Roster CSV: one student id per line, in the first column (header `student` or `id` optional).", valueName: "csv"))
        var roster: String
        @Option(name: .shortAndLong, help: ArgumentHelp(
            "Folder to write STUDENT.key files into (created if missing).", valueName: "folder"))
        var output: String
        @Flag(help: "Replace key files that hold a different key (made from another course secret).")
        var force = false

        func run() async throws {
            let roster = try Roster.load(URL(fileURLWithPath: roster))
            // The secret of this machine's vmlab home; the course folder plays no part.
            let secret = try StudentParameters.secret(from: ProcessInfo.processInfo.environment,
                                                      home: VMLabHome.fromEnvironment().root)
            let folder = URL(fileURLWithPath: output, isDirectory: true)
            let written = try writeKeys(roster: roster, secret: secret, folder: folder) { student, file in
                Output.line("\(student) \(file.path)")
            }
            Output.progress("\(written) key file(s) written, \(roster.students.count - written) already up to date, in \(folder.path)")
        }

        /// Writes every student's key file into `folder`, calling `wrote` for each (written or
        /// already there); returns how many were written. Nothing is written when a file holds
        /// a different key and `force` is off.
        func writeKeys(roster: Roster, secret: Data, folder: URL, wrote: (String, URL) -> Void) throws -> Int {
            let plan = plan(roster: roster, secret: secret, folder: folder)
            let stale = plan.filter { $0.existing == .different }
            if !stale.isEmpty && !force {
                throw VMLabError(.alreadyExists, "\(stale.count) key file(s) in \(folder.path) hold a different key (another "
                    + "course secret?): \(stale.prefix(5).map(\.file.lastPathComponent).joined(separator: ", "))"
                    + "\(stale.count > 5 ? ", ..." : ""); pass --force to replace them")
            }
            try createPrivateFolder(folder)
            var written = 0
            for entry in plan {
                if entry.existing != .same {
                    try StudentKeyFile.write(entry.key, to: entry.file, replace: entry.existing == .different)
                    written += 1
                }
                wrote(entry.key.student, entry.file)
            }
            return written
        }

        /// What is on disk for one student's key file.
        enum Existing { case none, same, different }

        /// Every student's key, its file and what the file holds now, checked before anything
        /// is written, so a refused run leaves the folder as it was.
        func plan(roster: Roster, secret: Data, folder: URL) -> [(key: StudentKey, file: URL, existing: Existing)] {
            roster.students.map { student in
                let key = StudentKey(student: student, secret: secret)
                let file = folder.appendingPathComponent("\(student).\(StudentKeyFile.fileExtension)")
                guard FileManager.default.fileExists(atPath: file.path) else { return (key, file, .none) }
                let existing = try? StudentKeyFile.read(file)
                return (key, file, existing == key ? .same : .different)
            }
        }

        /// The output folder, readable by its owner only: it holds every student's key.
        func createPrivateFolder(_ folder: URL) throws {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw VMLabError(.failed, "cannot create \(folder.path)", cause: error)
            }
        }
    }
}
