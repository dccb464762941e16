import Foundation

/// Checks that a student's kernel and initrd are what they claim to be, from their first
/// bytes, before libvirt sees them: QEMU given a text file or a vmlinux ELF fails with a
/// message that names neither the file nor the fix.
public enum BootImageCheck {
    /// Bytes the checks need from the start of a file.
    public static let headerBytes = 4096

    /// Why `header` (the first bytes of a file of `size` bytes) is not an x86 Linux bzImage
    /// QEMU can boot directly, or nil. The boot protocol header is at 0x1f1
    /// (Documentation/x86/boot.rst): setup sectors, the 0xAA55 boot flag, "HdrS" and the
    /// protocol version, the loaded-high flag of a bzImage and the 64-bit entry flag.
    public static func kernelProblem(header: Data, size: Int) -> String? {
        let bytes = [UInt8](header.prefix(headerBytes))
        func u8(_ at: Int) -> Int { at < bytes.count ? Int(bytes[at]) : 0 }
        func u16(_ at: Int) -> Int { u8(at) | u8(at + 1) << 8 }
        if bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
            return "is an ELF file (a vmlinux?), not a bzImage: boot arch/x86/boot/bzImage from `make bzImage`"
        }
        guard bytes.count >= 0x240, bytes[0x202..<0x206].elementsEqual(Array("HdrS".utf8)) else {
            return "is not an x86 Linux kernel (no HdrS boot header at 0x202): build it with `make bzImage` "
                + "and copy arch/x86/boot/bzImage into the workspace"
        }
        if u16(0x1fe) != 0xaa55 {
            return "has a HdrS header but no 0xAA55 boot flag at 0x1fe: the file is damaged; copy the bzImage again"
        }
        let version = u16(0x206)
        if version < 0x0206 {
            return "speaks boot protocol \(version >> 8).\(String(format: "%02d", version & 0xff)); QEMU's direct boot here "
                + "needs 2.06 or later (Linux 2.6.22 on)"
        }
        let setupSectors = u8(0x1f1) == 0 ? 4 : u8(0x1f1)
        let setupBytes = (setupSectors + 1) * 512
        if size <= setupBytes {
            return "is truncated: its header announces \(setupSectors) setup sectors (\(setupBytes) bytes) "
                + "but the file has \(size) bytes and no kernel after them; copy the bzImage again"
        }
        if u8(0x211) & 0x01 == 0 {
            return "is a zImage (loaded low), not a bzImage: build it with `make bzImage`"
        }
        if version >= 0x020c, u16(0x236) & 0x01 == 0 {
            return "is a 32-bit kernel; the guests' userland is 64-bit: build with ARCH=x86_64 (x86_64_defconfig)"
        }
        return nil
    }

    /// Why `header` does not start an initrd the kernel can unpack (a cpio archive, or one
    /// compressed with gzip, zstd, xz, lz4, bzip2 or lzma), or nil.
    public static func initrdProblem(header: Data, size: Int) -> String? {
        let bytes = [UInt8](header.prefix(16))
        let magics: [[UInt8]] = [
            Array("070701".utf8), Array("070702".utf8), Array("070707".utf8),  // cpio newc, crc, odc
            [0x1f, 0x8b], [0x28, 0xb5, 0x2f, 0xfd], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],  // gzip, zstd, xz
            [0x02, 0x21, 0x4c, 0x18], [0x04, 0x22, 0x4d, 0x18],  // lz4 legacy, lz4 frame
            Array("BZh".utf8), [0x5d, 0x00, 0x00],  // bzip2, lzma
        ]
        if size == 0 { return "is empty; an initrd is a cpio archive (or a compressed one)" }
        guard magics.contains(where: { bytes.starts(with: $0) }) else {
            return "is not an initrd: it is neither a cpio archive nor one compressed with gzip, zstd, xz, lz4, bzip2 "
                + "or lzma; make one with `find . | cpio -o -H newc | gzip`"
        }
        return nil
    }
}
