import Foundation

// The QEMU guest agent commands vmlab sends, as Codable messages. Field names follow
// qemu-ga's schema (qga/qapi-schema.json in QEMU). Every reply comes from the guest, whose
// root user can send anything: replies decode strictly where vmlab relies on a field, and
// numbers a guest controls (exit codes, signals) decode wide so that range checks, not
// traps, catch nonsense.

/// One agent command: its name and its `arguments` object, paired with the type its
/// `return` value decodes to, so a request cannot be read back as the wrong reply.
protocol AgentRequest: Encodable, Sendable {
    associatedtype Reply: Decodable & Sendable
    static var command: String { get }
    /// False for commands without parameters: their request carries no `arguments` key.
    static var hasArguments: Bool { get }
}

extension AgentRequest {
    static var hasArguments: Bool { true }
}

/// `{"execute": name, "arguments": {...}}`, the text sent to the agent.
struct AgentEnvelope<Arguments: Encodable>: Encodable {
    let execute: String
    let arguments: Arguments?
}

/// `{"return": ...}` or `{"error": {"class", "desc"}}`, the text the agent answers.
struct AgentReply<Value: Decodable>: Decodable {
    let value: Value?
    let error: AgentFailure?

    enum CodingKeys: String, CodingKey {
        case value = "return"
        case error
    }

    /// An error reply is reported as such even when its `return` (if any) is garbage.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        error = try container.decodeIfPresent(AgentFailure.self, forKey: .error)
        value = error == nil ? try container.decode(Value.self, forKey: .value) : nil
    }
}

/// The agent's refusal of a command.
struct AgentFailure: Decodable, Sendable {
    let errorClass: String?
    let desc: String?

    enum CodingKeys: String, CodingKey {
        case errorClass = "class"
        case desc
    }
}

/// A `return` whose content vmlab does not need (`{}` of guest-ping and guest-file-close).
struct AgentNoValue: Decodable, Sendable {
    init() {}
    init(from decoder: any Decoder) throws {}
}

// MARK: Requests

/// guest-ping: answers when the agent runs.
struct GuestPing: AgentRequest {
    typealias Reply = AgentNoValue
    static let command = "guest-ping"
    static let hasArguments = false
}

/// guest-exec: starts a program (no shell) and returns its pid.
struct GuestExec: AgentRequest {
    typealias Reply = ExecStarted
    static let command = "guest-exec"
    let path: String
    let arg: [String]
    /// `NAME=value` entries; nil keeps the agent's own environment.
    var env: [String]?
    /// Base64 of the program's standard input.
    var inputData: String?
    /// Nil sends no capture-output key: the output is discarded (the kill after a timeout).
    var captureOutput: Bool?

    enum CodingKeys: String, CodingKey {
        case path, arg, env
        case inputData = "input-data"
        case captureOutput = "capture-output"
    }
}

/// guest-exec-status: whether a started program has exited, and what it wrote.
struct GuestExecStatus: AgentRequest {
    typealias Reply = ExecStatus
    static let command = "guest-exec-status"
    let pid: Int
}

/// guest-file-open: opens a file in the guest and returns a handle.
struct GuestFileOpen: AgentRequest {
    typealias Reply = AgentFileHandle
    static let command = "guest-file-open"
    let path: String
    /// fopen(3) mode: "r", "w", ...
    let mode: String
}

/// guest-file-read: up to `count` bytes from an open file.
struct GuestFileRead: AgentRequest {
    typealias Reply = FileReadChunk
    static let command = "guest-file-read"
    let handle: Int
    let count: Int
}

/// guest-file-write: writes base64-encoded bytes to an open file.
struct GuestFileWrite: AgentRequest {
    typealias Reply = FileWritten
    static let command = "guest-file-write"
    let handle: Int
    let bufB64: String

    enum CodingKeys: String, CodingKey {
        case handle
        case bufB64 = "buf-b64"
    }
}

/// guest-file-close: releases a handle.
struct GuestFileClose: AgentRequest {
    typealias Reply = AgentNoValue
    static let command = "guest-file-close"
    let handle: Int
}

// MARK: Replies

/// The reply to guest-exec.
struct ExecStarted: Decodable, Sendable {
    let pid: Int
}

/// The reply to guest-exec-status. Exit code and signal are Int64 so that a value no
/// process can have still decodes and is rejected by a range check with a clear message.
struct ExecStatus: Decodable, Sendable {
    let exited: Bool
    let exitcode: Int64?
    let signal: Int64?
    let outData: String?
    let errData: String?
    /// Set by the agent when it dropped output beyond its own buffer limit.
    let outTruncated: Bool?
    let errTruncated: Bool?

    enum CodingKeys: String, CodingKey {
        case exited, exitcode, signal
        case outData = "out-data"
        case errData = "err-data"
        case outTruncated = "out-truncated"
        case errTruncated = "err-truncated"
    }
}

/// The reply to guest-file-open: a bare integer.
struct AgentFileHandle: Decodable, Sendable {
    let value: Int

    init(from decoder: any Decoder) throws {
        guard let value = try? decoder.singleValueContainer().decode(Int.self) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "no handle (expected an integer)"))
        }
        self.value = value
    }
}

/// The reply to guest-file-read. `eof` may be missing (older agents, fakes): an empty
/// chunk ends the file as well.
struct FileReadChunk: Decodable, Sendable {
    let count: Int
    let bufB64: String
    let eof: Bool?

    enum CodingKeys: String, CodingKey {
        case count, eof
        case bufB64 = "buf-b64"
    }
}

/// The reply to guest-file-write: how many bytes the guest took.
struct FileWritten: Decodable, Sendable {
    let count: Int
}

// MARK: Filesystem freeze

/// guest-fsfreeze-freeze: runs the guest's fsfreeze hooks ("freeze"), then freezes every
/// mounted filesystem; returns how many were frozen.
struct GuestFsfreezeFreeze: AgentRequest {
    typealias Reply = Int64
    static let command = "guest-fsfreeze-freeze"
    static let hasArguments = false
}

/// guest-fsfreeze-thaw: thaws every frozen filesystem, then runs the hooks ("thaw").
struct GuestFsfreezeThaw: AgentRequest {
    typealias Reply = Int64
    static let command = "guest-fsfreeze-thaw"
    static let hasArguments = false
}

/// guest-fsfreeze-status: "thawed" or "frozen".
struct GuestFsfreezeStatus: AgentRequest {
    typealias Reply = String
    static let command = "guest-fsfreeze-status"
    static let hasArguments = false
}
