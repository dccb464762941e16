import Foundation

/// The one error type of the core: a code a program can switch on, and a message a
/// person can act on (it names the object and says what to do).
public struct VMLabError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notFound, invalidInput, invalidState, alreadyExists, timeout, unavailable, failed
        /// Another process is changing the same lab or guest right now.
        case busy
    }

    public let code: Code
    public let message: String
    /// The lower-level error that caused this one, as text (libvirt, libguestfs, a process).
    public let cause: String?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause.map { String(describing: $0) }
    }

    public var description: String {
        guard let cause, !cause.isEmpty, !message.contains(cause) else { return message }
        return "\(message)\n  cause: \(cause)"
    }
}

/// A problem in a file a person wrote (a recipe, a lab), located as `file:line: field: message`.
public struct SpecError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let line: Int?
    public let field: String
    public let message: String

    public init(file: String, line: Int?, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return field.isEmpty ? "\(location): \(message)" : "\(location): \(field): \(message)"
    }
}

/// Several spec problems found in one pass, so an author fixes them all at once.
public struct SpecErrors: Error, CustomStringConvertible, Sendable {
    public let errors: [SpecError]
    public init(errors: [SpecError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
