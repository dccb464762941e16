import Crypto
import Foundation
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// Why a submission was refused, worded for the teacher and the student who sent it: one
/// line of at most 300 characters, whatever text from the bundle it quotes.
public struct SubmissionError: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = oneLineReason(reason) }
    public var description: String { reason }
}

/// What a student hands in: one JSON file with the lab's runs, measurements, answers and
/// artifacts, and a digest over the rest so an edit after `vmlab submit` shows. Submissions
/// come from students, so decoding is defensive: sizes, names and values are all checked
/// before anything is graded or written to disk.
public struct Submission: Codable, Sendable, Equatable {
    public static let formatTag = "vmlab-submission/1"

    /// Limits for decoding, chosen so that any bundle within them is read and graded in
    /// seconds and a few hundred MiB (scripts/grade-bench.sh measures the worst case): a
    /// student's real bundle is far inside every one of them.
    public struct Limits: Sendable, Equatable {
        /// The file, checked before it is read.
        public var maxBytes: Int
        public var maxArtifactBytes: Int
        public var maxArtifacts: Int
        public var maxMeasurements: Int
        public var maxRuns: Int
        /// Parameters of one run or one measurement.
        public var maxParameters: Int
        public var maxAnswers: Int
        /// One answer's text.
        public var maxAnswerBytes: Int
        /// Every other text: names, ids, units, dates, parameter values.
        public var maxTextBytes: Int

        public init(maxBytes: Int = 32 << 20, maxArtifactBytes: Int = 4 << 20, maxArtifacts: Int = 16,
                    maxMeasurements: Int = 10_000, maxRuns: Int = 2_000, maxParameters: Int = 32, maxAnswers: Int = 256,
                    maxAnswerBytes: Int = 4096, maxTextBytes: Int = 1024) {
            self.maxBytes = maxBytes
            self.maxArtifactBytes = maxArtifactBytes
            self.maxArtifacts = maxArtifacts
            self.maxMeasurements = maxMeasurements
            self.maxRuns = maxRuns
            self.maxParameters = maxParameters
            self.maxAnswers = maxAnswers
            self.maxAnswerBytes = maxAnswerBytes
            self.maxTextBytes = maxTextBytes
        }

        public static let `default` = Limits()

        /// A lab whose VMs boot a kernel from the workspace (`boot:` in lab.yaml) hands the
        /// kernel in with the bundle: room for one of `BootSpec.maxKernelBytes` with an
        /// initrd beside it. Every other lab keeps the small limits, so a grader's memory per
        /// bundle stays what grade-bench measured.
        public static let bootingLab = Limits(maxBytes: 128 << 20, maxArtifactBytes: BootSpec.maxKernelBytes)

        /// The limits bundles of `lab` are read and written with.
        public static func of(_ lab: LabSpec) -> Limits {
            lab.bootsWorkspaceKernel ? .bootingLab : .default
        }

        /// The same limits as a JSON shape, checked on the bytes before decoding.
        var shape: JSONShape {
            var shape = JSONShape()
            shape.maxDepth = 4
            shape.defaultCount = 16
            shape.counts = ["runs": maxRuns, "measurements": maxMeasurements, "answers": maxAnswers,
                            "artifacts": maxArtifacts, "runs[].parameters": maxParameters,
                            "measurements[].parameters": maxParameters]
            shape.maps = ["answers", "artifacts", "runs[].parameters", "measurements[].parameters"]
            shape.defaultString = maxTextBytes
            // Room for base64 of the largest artifact with every `/` escaped; `validate` then
            // says exactly which artifact is over and by how much.
            shape.strings = ["answers.*": maxAnswerBytes, "artifacts.*": 2 * ((maxArtifactBytes + 2) / 3 * 4) + 1024]
            shape.maxKeyBytes = 256
            return shape
        }
    }

    /// Always `vmlab-submission/1` for this layout.
    public var format: String
    public var lab: String
    public var student: String
    /// sha256 of the lab file the runs used.
    public var labDigest: String
    /// Digest of the guest image the runs used.
    public var imageDigest: String
    /// The lab instance the runs belong to.
    public var instance: String
    public var createdAt: Date
    public var runs: [RunSummary]
    public var measurements: [RunMeasurement]
    public var answers: [String: String]
    /// Artifact name → content, base64.
    public var artifacts: [String: String]
    /// sha256 hex of the canonical JSON of every other field (set by `encoded()`).
    public var digest: String

    public init(lab: String, student: String, labDigest: String, imageDigest: String, instance: String,
                createdAt: Date = Date(), runs: [RunSummary], measurements: [RunMeasurement], answers: [String: String],
                artifacts: [String: Data]) {
        self.format = Self.formatTag
        self.lab = lab
        self.student = student
        self.labDigest = labDigest
        self.imageDigest = imageDigest
        self.instance = instance
        self.createdAt = createdAt
        self.runs = runs
        self.measurements = measurements
        self.answers = answers
        self.artifacts = artifacts.mapValues { $0.base64EncodedString() }
        self.digest = ""
    }

    /// The file's bytes with `digest` filled in. Throws `SubmissionError` when the contents
    /// would be refused by `decode` (a student learns at submit time, not from the teacher).
    public func encoded(limits: Limits = .default) throws -> Data {
        try validate(limits: limits)
        var sealed = self
        sealed.digest = try computedDigest()
        let encoder = Self.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(sealed)
        } catch {
            throw SubmissionError("cannot encode the submission: \(error)")
        }
        guard data.count <= Limits.default.maxBytes else {
            throw SubmissionError("the submission would be \(mebibytes(data.count)), over the limit of "
                                  + mebibytes(Limits.default.maxBytes) + "; submit fewer or smaller artifacts")
        }
        return data
    }

    /// sha256 hex over the canonical JSON (sorted keys, no whitespace) of every field but `digest`.
    public func computedDigest() throws -> String {
        var body = self
        body.digest = ""
        let encoder = Self.encoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(body)
            return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        } catch {
            throw SubmissionError("cannot encode the submission: \(error)")
        }
    }

    /// Reads a submission file without trusting it: a special file (FIFO, device, folder) is
    /// refused before anything is read, and never more than the size limit plus one byte is.
    public static func read(_ url: URL, limits: Limits = .default) throws -> Submission {
        let data: Data
        do {
            data = try BoundedFile.read(url.path, limit: limits.maxBytes)
        } catch .tooLarge {
            throw SubmissionError("the file is over the limit of \(mebibytes(limits.maxBytes))")
        } catch {
            throw SubmissionError("cannot read the file: \(error)")
        }
        return try decode(data, limits: limits)
    }

    /// Reads a submission file, refusing (with `SubmissionError`) anything oversized, of another
    /// format, edited after it was made, or with unsafe names or values. The bytes' shape
    /// (sizes, counts, duplicate keys) is checked before JSONDecoder sees them.
    public static func decode(_ data: Data, limits: Limits = .default) throws -> Submission {
        guard data.count <= limits.maxBytes else {
            throw SubmissionError("the file is \(mebibytes(data.count)), over the limit of \(mebibytes(limits.maxBytes))")
        }
        do {
            try limits.shape.check(data)
        } catch {
            let first = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            if first != UInt8(ascii: "{") { throw SubmissionError("not a vmlab submission: the file is not a JSON object") }
            throw SubmissionError(error.kind == .syntax ? "malformed submission: \(error.message)" : error.message)
        }
        struct Header: Decodable { var format: String? }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data)
        } catch {
            throw SubmissionError("not a vmlab submission: the file is not a JSON object")
        }
        guard header.format == formatTag else {
            let found = header.format.map { "'\(displayText($0, limit: 80))'" } ?? "missing"
            throw SubmissionError("not a vmlab submission: its format tag is \(found), expected '\(formatTag)'")
        }
        let submission: Submission
        do {
            submission = try decoder().decode(Submission.self, from: data)
        } catch let error as DecodingError {
            throw SubmissionError("malformed submission: \(describe(error))")
        } catch {
            throw SubmissionError("malformed submission: \(error)")
        }
        try submission.validate(limits: limits)
        guard try submission.computedDigest() == submission.digest.lowercased() else {
            throw SubmissionError("the digest does not match the contents: the file was changed after "
                                  + "`vmlab submit` made it; submit again without editing it")
        }
        return submission
    }

    /// The artifacts, decoded (a decoded submission's artifacts are all valid base64).
    public var artifactData: [String: Data] {
        artifacts.compactMapValues { Data(base64Encoded: $0) }
    }

    /// Checks that every run and measurement used this student's per-student values: a bundle
    /// copied from another student (or with values edited before the digest) fails here.
    public func verifyParameters(lab: LabSpec, secret: Data) throws {
        guard self.lab == lab.name else {
            throw SubmissionError("the submission is for lab '\(displayText(self.lab, limit: 64))', not \(lab.name)")
        }
        let expected = StudentParameters.derive(lab: lab, student: student, secret: secret)
        func check(_ values: [String: String], _ what: String) throws {
            for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
                guard let used = values[name] else {
                    throw SubmissionError("\(what) has no value for \(name), which is set per student")
                }
                if used != value, Double(used) == nil || Double(used) != Double(value) {
                    throw SubmissionError("\(what) used \(name)=\(displayText(used, limit: 64)) but student \(student)'s value is \(value) "
                                          + "(a bundle from another student?)")
                }
            }
        }
        for run in runs { try check(run.parameters, "run \(run.id)") }
        for m in measurements { try check(m.parameters, "measurement \(displayText(m.name, limit: 64)) of run \(m.runID)") }
    }

    /// Everything `decode` refuses besides size, format and digest.
    func validate(limits: Limits) throws {
        guard format == Self.formatTag else {
            throw SubmissionError("not a vmlab submission: its format tag is '\(displayText(format, limit: 80))', "
                                  + "expected '\(Self.formatTag)'")
        }
        if let problem = studentIDProblem(student) { throw SubmissionError(problem) }
        func count(_ n: Int, _ what: String, _ limit: Int) throws {
            if n > limit { throw SubmissionError("too many \(what): \(n), more than the \(limit) allowed") }
        }
        try count(measurements.count, "measurements", limits.maxMeasurements)
        try count(runs.count, "runs", limits.maxRuns)
        try count(answers.count, "answers", limits.maxAnswers)
        try count(artifacts.count, "artifacts", limits.maxArtifacts)
        for run in runs { try count(run.parameters.count, "parameters in run \(run.id)", limits.maxParameters) }
        for m in measurements { try count(m.parameters.count, "parameters in a measurement of run \(m.runID)", limits.maxParameters) }
        for (question, answer) in answers.sorted(by: { $0.key < $1.key }) where answer.utf8.count > limits.maxAnswerBytes {
            throw SubmissionError("the answer to '\(displayText(question, limit: 64))' is longer than "
                                  + "\(limits.maxAnswerBytes) bytes")
        }
        for (index, m) in measurements.enumerated() where !m.value.isFinite {
            throw SubmissionError("measurement \(index + 1) (\(displayText(m.name, limit: 64)) of run \(m.runID)) is \(m.value), "
                                  + "not a finite number")
        }
        for name in artifacts.keys.sorted() {
            if let problem = ArtifactName.problem(name) { throw SubmissionError(problem) }
            let encoded = artifacts[name]!
            // Checked before decoding: 4 base64 characters carry 3 bytes.
            if encoded.utf8.count / 4 * 3 > limits.maxArtifactBytes + 3 {
                throw SubmissionError("artifact \(name) is over the limit of \(mebibytes(limits.maxArtifactBytes))")
            }
            guard let data = Data(base64Encoded: encoded) else {
                throw SubmissionError("artifact \(name) is not valid base64")
            }
            if data.count > limits.maxArtifactBytes {
                throw SubmissionError("artifact \(name) is over the limit of \(mebibytes(limits.maxArtifactBytes)) "
                                      + "(it has \(data.count) bytes)")
            }
        }
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            guard let text = iso8601Millis(exactly: date) else {
                throw EncodingError.invalidValue(date, .init(codingPath: encoder.codingPath,
                                                             debugDescription: "date outside the years 0000-9999"))
            }
            var container = encoder.singleValueContainer()
            try container.encode(text)
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseISO8601Millis(text) else {
                throw DecodingError.dataCorruptedError(in: container,
                                                       debugDescription: "expected a time like 2025-01-31T12:00:00.000Z")
            }
            return date
        }
        return decoder
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "the top level" : String(p.drop { $0 == "." })
        }
        switch error {
        case let .keyNotFound(key, context):
            let at = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "missing field '\(key.stringValue)'\(at)"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "wrong type at \(path(context))"
        case let .dataCorrupted(context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

private func mebibytes(_ bytes: Int) -> String {
    bytes >= 1 << 20 ? "\(shortNumber(Double(bytes) / Double(1 << 20))) MiB" : "\(bytes) bytes"
}

// MARK: - Dates

/// `2025-01-31T12:00:00.123Z`, rounded to the millisecond.
func iso8601Millis(_ date: Date) -> String {
    iso8601Millis(exactly: date) ?? "\(date)"
}

/// UTC with milliseconds, computed by hand: the text must be identical every time a decoded
/// date is encoded again, or the digest would not verify.
func iso8601Millis(exactly date: Date) -> String? {
    let millis = (date.timeIntervalSince1970 * 1000).rounded()
    guard millis.isFinite, abs(millis) < 4e14 else { return nil }
    let total = Int64(millis)
    let (seconds, ms) = floorDivMod(total, 1000)
    let (days, secondOfDay) = floorDivMod(seconds, 86400)
    let (y, m, d) = civil(fromDays: days)
    guard (0...9999).contains(y) else { return nil }
    return String(format: "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.%03ldZ", Int(y), Int(m), Int(d), Int(secondOfDay / 3600),
                  Int(secondOfDay % 3600 / 60), Int(secondOfDay % 60), Int(ms))
}

/// Parses exactly the form `iso8601Millis` writes.
func parseISO8601Millis(_ text: String) -> Date? {
    let c = Array(text.utf8)
    guard c.count == 24, c[4] == UInt8(ascii: "-"), c[7] == UInt8(ascii: "-"), c[10] == UInt8(ascii: "T"),
          c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":"), c[19] == UInt8(ascii: "."), c[23] == UInt8(ascii: "Z")
    else { return nil }
    func number(_ range: Range<Int>) -> Int64? {
        var n: Int64 = 0
        for i in range {
            guard (48...57).contains(c[i]) else { return nil }
            n = n * 10 + Int64(c[i] - 48)
        }
        return n
    }
    guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
          let mi = number(14..<16), let s = number(17..<19), let ms = number(20..<23),
          (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60 else { return nil }
    let days = days(fromCivil: y, mo, d)
    let millis = ((days * 86400 + h * 3600 + mi * 60 + s) * 1000) + ms
    let date = Date(timeIntervalSince1970: Double(millis) / 1000)
    // Reject dates that do not exist (Feb 30): they would not encode back to the same text.
    return iso8601Millis(exactly: date) == text ? date : nil
}

private func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    let q = a / b, r = a % b
    return r < 0 ? (q - 1, r + b) : (q, r)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
private func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

private func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}
