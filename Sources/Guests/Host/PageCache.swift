import Foundation
import VMLabSupport

/// How much of a host file sits in the host's page cache, read with mincore(2) on a
/// read-only mapping: what the host caches of a VM's disk file on top of the guest's own
/// cache (double caching), and what `cache=none` keeps out.
public enum PageCache {
    /// Bytes of `path` resident in the host page cache (a multiple of the page size, at most
    /// the file's size). Mapping the file does not read it: mincore only reports.
    public static func residentBytes(_ path: String) throws -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VMLabError(.notFound, "cannot open \(path) to read its page-cache residency: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw VMLabError(.failed, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        guard size > 0 else { return 0 }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw VMLabError(.failed, "cannot map \(path) to read its page-cache residency: \(String(cString: strerror(errno)))")
        }
        defer { munmap(map, size) }
        let pages = (size + page - 1) / page
        var vector = [UInt8](repeating: 0, count: pages)
        guard mincore(map, size, &vector) == 0 else {
            throw VMLabError(.failed, "mincore on \(path) failed: \(String(cString: strerror(errno)))")
        }
        let resident = vector.reduce(0) { $0 + Int($1 & 1) }
        return UInt64(min(resident * page, size))
    }

    /// Writes `path`'s dirty pages back, then asks the kernel to drop its pages from the
    /// host page cache (posix_fadvise DONTNEED), so a measurement starts with nothing cached.
    public static func evict(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VMLabError(.notFound, "cannot open \(path) to drop it from the page cache: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = fdatasync(fd)
        let status = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        guard status == 0 else { throw VMLabError(.failed, "posix_fadvise on \(path) failed: \(String(cString: strerror(status)))") }
    }
}
