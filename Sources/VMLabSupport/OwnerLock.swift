import Foundation

/// One writer per lab and per stand-alone guest: an exclusive `flock` on a file under the
/// vmlab home. The kernel drops the lock when its process dies, however it dies, so a
/// killed vmlab never leaves a lab locked, and `gc` can tell a live owner from a dead one
/// by trying the lock.
public final class OwnerLock: Sendable {
    private let fd: Int32
    public let file: URL

    private init(fd: Int32, file: URL) {
        self.fd = fd
        self.file = file
    }

    deinit { close(fd) }

    /// Takes the lock named `name` (a lab, an instance, a guest) or throws `busy`, naming
    /// the process that holds it. `what` says what is being changed, for that message.
    public static func acquire(_ name: String, in directory: URL, what: String) throws(VMLabError) -> OwnerLock {
        guard let lock = try tryAcquire(name, in: directory) else {
            throw VMLabError(.busy, "busy: \(what) is being changed by \(holder(name, in: directory)); "
                             + "wait for it to finish (or end that process) and try again")
        }
        return lock
    }

    /// Takes the lock if nobody holds it; nil when another process (or another lock in
    /// this process) does.
    public static func tryAcquire(_ name: String, in directory: URL) throws(VMLabError) -> OwnerLock? {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw VMLabError(.failed, "cannot create the lock folder \(directory.path)", cause: error)
        }
        let file = directory.appendingPathComponent("\(name).lock")
        let fd = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw VMLabError(.failed, "cannot open the lock \(file.path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        // Who holds it, for the message a second process prints.
        let info = "pid \(getpid()) (\(commandLine()))\n"
        _ = ftruncate(fd, 0)
        _ = info.withCString { pwrite(fd, $0, strlen($0), 0) }
        return OwnerLock(fd: fd, file: file)
    }

    /// Takes lock `name`, waiting while another process holds it (for work that is done
    /// once and then shared, like building an image: the second waits, then finds it built).
    public static func waitAndAcquire(_ name: String, in directory: URL) async throws -> OwnerLock {
        while true {
            if let lock = try tryAcquire(name, in: directory) { return lock }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Takes lock `name`, blocking this thread while another process holds it, for at most
    /// `timeout` (for short work done once, like migrating a new store, that synchronous
    /// code must not race on).
    public static func waitAndAcquire(_ name: String, in directory: URL, timeout: Duration) throws(VMLabError) -> OwnerLock {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let lock = try tryAcquire(name, in: directory) { return lock }
            guard ContinuousClock.now < deadline else {
                throw VMLabError(.busy, "busy: \(name) is held by \(holder(name, in: directory)) for more than \(timeout)")
            }
            usleep(50_000)
        }
    }

    /// Whether some process holds lock `name` now.
    public static func isHeld(_ name: String, in directory: URL) -> Bool {
        do { return try tryAcquire(name, in: directory) == nil } catch { return false }
    }

    /// "pid N (COMMAND)" of the holder, as it wrote it.
    static func holder(_ name: String, in directory: URL) -> String {
        let file = directory.appendingPathComponent("\(name).lock")
        let text = (try? BoundedFile.text(file, maxBytes: 4096))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty ? "another vmlab process" : text
    }

    static func commandLine() -> String {
        let args = CommandLine.arguments
        let name = args.first.map { ($0 as NSString).lastPathComponent } ?? "vmlab"
        return ([name] + args.dropFirst().prefix(4)).joined(separator: " ").prefix(120).description
    }
}
