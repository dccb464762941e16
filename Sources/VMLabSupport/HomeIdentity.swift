import Foundation

extension VMLabHome {
    /// A random id of this vmlab home, made once and kept in `home-id`. It goes into the
    /// metadata of every domain and network vmlab defines, so `gc` can find objects whose
    /// records were lost, and never mistakes another home's objects (another user, or a
    /// test, on the same libvirtd) for its own.
    public func identity() throws -> String {
        let file = root.appendingPathComponent("home-id")
        if let existing = try Self.readIdentity(file) { return existing }
        try ensure(root)
        let fresh = UUID().uuidString.lowercased()
        let temporary = root.appendingPathComponent(".home-id.\(getpid()).\(fresh.prefix(8))")
        try Data((fresh + "\n").utf8).write(to: temporary)
        defer { unlink(temporary.path) }
        // link(2) fails if the name exists: of two processes making it at once, one wins
        // and both read the winner's id.
        if link(temporary.path, file.path) != 0, errno != EEXIST {
            throw VMLabError(.failed, "cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
        guard let made = try Self.readIdentity(file) else {
            throw VMLabError(.failed, "\(file.path) holds no home id; remove it and try again")
        }
        return made
    }

    static func readIdentity(_ file: URL) throws -> String? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let text = try BoundedFile.text(file, maxBytes: 256).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw VMLabError(.invalidInput, "\(file.path) is not a vmlab home id (\(text.prefix(40))); "
                             + "restore it from a backup, or remove it to make a new one (then `vmlab gc` "
                             + "no longer finds objects made under the old id)")
        }
        return text
    }
}
