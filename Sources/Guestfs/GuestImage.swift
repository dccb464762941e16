internal import CGuestfs

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error reported by libguestfs (or by this binding) for one operation.
public struct GuestfsError: Error, CustomStringConvertible, Sendable {
    /// The libguestfs call that failed, e.g. `"mount"` or `"add_drive(/path/disk.img)"`.
    public let operation: String
    /// The message from `guestfs_last_error`, or a description supplied by the binding.
    public let message: String

    /// Creates an error for `operation` with `message`.
    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    /// `"guestfs <operation>: <message>"`.
    public var description: String { "guestfs \(operation): \(message)" }
}

/// How the libguestfs appliance VM is accelerated.
public enum Accelerator: Sendable {
    /// libguestfs defaults (KVM when `/dev/kvm` opens; honours `LIBGUESTFS_BACKEND`).
    case automatic
    /// Pure software emulation: backend `"direct"` with backend setting `"force_tcg"`.
    /// Use on hosts where `/dev/kvm` exists but KVM guests hang (nested VMs).
    case softwareOnly
}

/// One libguestfs handle with its launched appliance, giving access to the filesystems of disk images.
///
/// The class owns the handle: `close()` (also run by `deinit`) shuts the appliance down and frees it.
/// A guestfs handle is not thread-safe, so `GuestImage` is deliberately not `Sendable`:
/// create and use it within one task/thread.
public final class GuestImage {
    /// A disk image to attach to the appliance.
    public struct Disk: Sendable {
        /// Host path of the image file.
        public var path: String
        /// Image format (`"qcow2"`, `"raw"`, ...); `nil` lets libguestfs probe (unsafe for untrusted images).
        public var format: String?
        /// Attach read-only (writes go to a discarded overlay).
        public var readOnly: Bool

        /// Describes a disk image to attach.
        public init(path: String, format: String? = nil, readOnly: Bool = false) {
            self.path = path
            self.format = format
            self.readOnly = readOnly
        }
    }

    private var handle: OpaquePointer?

    /// Adds each disk (path, format `"qcow2"`/`"raw"`/`nil`, readOnly) and launches the appliance.
    ///
    /// `memoryMiB` sets the appliance memory (libguestfs default otherwise).
    /// Launching costs several seconds (≈10 s under `.softwareOnly`), so batch work per instance.
    public init(disks: [Disk], accelerator: Accelerator, memoryMiB: Int? = nil) throws {
        guard let g = guestfs_create() else {
            throw GuestfsError(operation: "create", message: "guestfs_create failed (cannot allocate handle)")
        }
        guestfs_set_error_handler(g, nil, nil)
        handle = g
        // On any failure below, deinit -> close() releases the handle.
        switch accelerator {
        case .automatic:
            break
        case .softwareOnly:
            try check(guestfs_set_backend(g, "direct"), "set_backend")
            try withCStringArray(["force_tcg"]) { argv in
                try check(guestfs_set_backend_settings(g, argv), "set_backend_settings")
            }
        }
        if let memoryMiB {
            try check(guestfs_set_memsize(g, Int32(clamping: memoryMiB)), "set_memsize")
        }
        for disk in disks {
            try addDrive(g, disk)
        }
        try check(guestfs_launch(g), "launch")
    }

    deinit {
        close()
    }

    // MARK: - Lifecycle

    /// Flushes and shuts down the appliance, then frees the handle; idempotent, errors are ignored.
    public func close() {
        guard let g = handle else { return }
        handle = nil
        _ = guestfs_shutdown(g)
        guestfs_close(g)
    }

    /// Like `close()`, but throws if the appliance shutdown (which flushes writes) reported an error.
    /// The handle is freed either way.
    public func shutdown() throws {
        guard let g = handle else { return }
        handle = nil
        defer { guestfs_close(g) }
        if guestfs_shutdown(g) == -1 {
            throw lastError(g, "shutdown")
        }
    }

    /// Whether `close()`/`shutdown()` has been called.
    public var isClosed: Bool { handle == nil }

    // MARK: - Devices and filesystems

    /// All filesystems found (`guestfs_list_filesystems`), e.g. `("/dev/sda1", "ext4")`.
    /// Type is `"unknown"` or `"swap"` for non-mountable entries.
    public func listFilesystems() throws -> [(device: String, type: String)] {
        let g = try live("list_filesystems")
        let flat = try takeStringList(guestfs_list_filesystems(g), g, "list_filesystems")
        var result: [(device: String, type: String)] = []
        result.reserveCapacity(flat.count / 2)
        var i = 0
        while i + 1 < flat.count {
            result.append((device: flat[i], type: flat[i + 1]))
            i += 2
        }
        return result
    }

    /// Block devices in the appliance (`guestfs_list_devices`), e.g. `["/dev/sda"]`.
    public func listDevices() throws -> [String] {
        let g = try live("list_devices")
        return try takeStringList(guestfs_list_devices(g), g, "list_devices")
    }

    /// Creates a filesystem of `type` (e.g. `"ext4"`) on `device` (`guestfs_mkfs`).
    public func makeFilesystem(type: String, device: String) throws {
        let g = try live("mkfs")
        try check(guestfs_mkfs(g, type, device), "mkfs")
    }

    /// Mounts `device` at `mountpoint` in the appliance (`guestfs_mount` / `guestfs_mount_ro`).
    public func mount(_ device: String, at mountpoint: String = "/", readOnly: Bool = false) throws {
        let g = try live("mount")
        if readOnly {
            try check(guestfs_mount_ro(g, device, mountpoint), "mount_ro")
        } else {
            try check(guestfs_mount(g, device, mountpoint), "mount")
        }
    }

    /// Unmounts every mounted filesystem (`guestfs_umount_all`).
    public func unmountAll() throws {
        let g = try live("umount_all")
        try check(guestfs_umount_all(g), "umount_all")
    }

    /// Flushes guest filesystem buffers to the disks (`guestfs_sync`).
    public func sync() throws {
        let g = try live("sync")
        try check(guestfs_sync(g), "sync")
    }

    // MARK: - Files

    /// Whole contents of a guest file, binary safe (`guestfs_read_file`; limited to a few MiB by the protocol).
    public func readFile(_ path: String) throws -> [UInt8] {
        let g = try live("read_file")
        var size = 0
        guard let p = guestfs_read_file(g, path, &size) else {
            throw lastError(g, "read_file(\(path))")
        }
        defer { free(p) }
        return p.withMemoryRebound(to: UInt8.self, capacity: size) {
            Array(UnsafeBufferPointer(start: $0, count: size))
        }
    }

    /// Creates or replaces a guest file with `contents`, binary safe (`guestfs_write`; limited to ~2 MiB).
    public func writeFile(_ path: String, contents: [UInt8]) throws {
        let g = try live("write")
        let rc = contents.withUnsafeBufferPointer { buf -> Int32 in
            // guestfs_write needs a non-NULL pointer even for empty content.
            var empty: CChar = 0
            if let base = buf.baseAddress, buf.count > 0 {
                return base.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                    guestfs_write(g, path, $0, buf.count)
                }
            }
            return guestfs_write(g, path, &empty, 0)
        }
        try check(rc, "write(\(path))")
    }

    /// Names in a guest directory, excluding `.` and `..` (`guestfs_ls`).
    public func listDirectory(_ path: String) throws -> [String] {
        let g = try live("ls")
        return try takeStringList(guestfs_ls(g, path), g, "ls(\(path))")
    }

    /// Whether a guest path exists (`guestfs_exists`).
    public func exists(_ path: String) throws -> Bool {
        let g = try live("exists")
        let rc = guestfs_exists(g, path)
        if rc == -1 { throw lastError(g, "exists(\(path))") }
        return rc != 0
    }

    /// Whether a guest path is a regular file; a symlink is not (`guestfs_is_file`, which
    /// does not follow links), so a guest cannot point a read at a device or elsewhere.
    public func isRegularFile(_ path: String) throws -> Bool {
        let g = try live("is_file")
        let rc = guestfs_is_file(g, path)
        if rc == -1 { throw lastError(g, "is_file(\(path))") }
        return rc != 0
    }

    /// The size in bytes of a guest file (`guestfs_filesize`).
    public func fileSize(_ path: String) throws -> Int64 {
        let g = try live("filesize")
        let size = guestfs_filesize(g, path)
        if size == -1 { throw lastError(g, "filesize(\(path))") }
        return size
    }

    /// Creates a guest directory (`guestfs_mkdir_p` when `parents`, else `guestfs_mkdir`).
    public func makeDirectory(_ path: String, parents: Bool = true) throws {
        let g = try live("mkdir")
        if parents {
            try check(guestfs_mkdir_p(g, path), "mkdir_p(\(path))")
        } else {
            try check(guestfs_mkdir(g, path), "mkdir(\(path))")
        }
    }

    /// Removes a guest file, ignoring a missing one (`guestfs_rm_f`, `rm -f` semantics).
    public func remove(_ path: String) throws {
        let g = try live("rm_f")
        try check(guestfs_rm_f(g, path), "rm_f(\(path))")
    }

    /// Recursively copies a guest file or directory into an existing host directory (`guestfs_copy_out`).
    public func copyOut(_ guestPath: String, to hostDirectory: String) throws {
        let g = try live("copy_out")
        try check(guestfs_copy_out(g, guestPath, hostDirectory), "copy_out(\(guestPath))")
    }

    /// Recursively copies a host file or directory into an existing guest directory (`guestfs_copy_in`).
    public func copyIn(_ hostPath: String, to guestDirectory: String) throws {
        let g = try live("copy_in")
        try check(guestfs_copy_in(g, hostPath, guestDirectory), "copy_in(\(hostPath))")
    }

    // MARK: - Private helpers

    private func live(_ operation: String) throws -> OpaquePointer {
        guard let g = handle else {
            throw GuestfsError(operation: operation, message: "handle is closed")
        }
        return g
    }

    private func addDrive(_ g: OpaquePointer, _ disk: Disk) throws {
        // Bitmask values from guestfs.h (the UINT64_C macros are not imported into Swift).
        let readonlyBit: UInt64 = 1 << 0
        let formatBit: UInt64 = 1 << 1
        let operation = "add_drive(\(disk.path))"
        var opts = guestfs_add_drive_opts_argv()
        opts.bitmask = readonlyBit
        opts.readonly = disk.readOnly ? 1 : 0
        let rc: Int32
        if let format = disk.format {
            rc = format.withCString { fmt in
                opts.bitmask |= formatBit
                opts.format = fmt
                return guestfs_add_drive_opts_argv(g, disk.path, &opts)
            }
        } else {
            rc = guestfs_add_drive_opts_argv(g, disk.path, &opts)
        }
        if rc == -1 {
            var error = lastError(g, operation)
            if !error.message.contains(disk.path) {
                error = GuestfsError(operation: operation, message: "\(disk.path): \(error.message)")
            }
            throw error
        }
    }
}

/// Marks `GuestImage` explicitly non-Sendable: a guestfs handle must not be used from two threads at once.
@available(*, unavailable)
extension GuestImage: Sendable {}

// MARK: - C glue

/// Error for `operation` built from `guestfs_last_error(g)`; call immediately after the failing call.
private func lastError(_ g: OpaquePointer, _ operation: String) -> GuestfsError {
    let message: String
    if let p = guestfs_last_error(g) {
        message = String(cString: p)
    } else {
        let errno = guestfs_last_errno(g)
        message = errno != 0 ? String(cString: strerror(errno)) : "unknown error"
    }
    return GuestfsError(operation: operation, message: message.isEmpty ? "unknown error" : message)
}

/// Throws the handle's last error when `rc == -1` (the libguestfs convention for `int` returns).
private func check(_ rc: Int32, _ g: OpaquePointer, _ operation: String) throws {
    if rc == -1 { throw lastError(g, operation) }
}

extension GuestImage {
    fileprivate func check(_ rc: Int32, _ operation: String) throws {
        guard let g = handle else {
            throw GuestfsError(operation: operation, message: "handle is closed")
        }
        try Guestfs.check(rc, g, operation)
    }
}

/// Converts a NULL-terminated, malloc'd `char **` into `[String]`, freeing every string and the array.
/// Throws the handle's last error when the list is NULL.
private func takeStringList(
    _ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ g: OpaquePointer,
    _ operation: String
) throws -> [String] {
    guard let list else { throw lastError(g, operation) }
    defer { free(list) }
    var result: [String] = []
    var i = 0
    while let s = list[i] {
        result.append(String(cString: s))
        free(s)
        i += 1
    }
    return result
}

/// Calls `body` with a NULL-terminated `char *const *` for `strings`, freed afterwards.
private func withCStringArray<R>(
    _ strings: [String],
    _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) throws -> R
) rethrows -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
}
