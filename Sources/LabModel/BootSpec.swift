import Foundation
import VMLabSupport

/// `boot: {kernel: bzImage, initrd: initrd.img, cmdline: "loglevel=7"}` on a VM: the VM
/// boots a kernel (and optionally an initrd) from the student's workspace instead of the
/// image's. The files are guest code: vmlab only checks their headers and hands them to
/// QEMU, never runs them. vmlab's own command line (root, console, hostname) is kept and
/// the student's is appended to it.
public struct BootSpec: Sendable, Equatable {
    /// Workspace file of the kernel (an x86 bzImage).
    public var kernel: String
    /// Workspace file of the initrd (cpio, or compressed cpio); nil: the image's initrd.
    public var initrd: String?
    /// Kernel arguments appended to vmlab's own.
    public var cmdline: String?

    /// Largest kernel vmlab copies (a distribution bzImage is about 8 MiB).
    public static let maxKernelBytes = 64 << 20
    /// Largest initrd vmlab copies.
    public static let maxInitrdBytes = 512 << 20
    /// Longest student command line (x86 takes 2048 bytes in all; vmlab's part needs the rest).
    public static let maxCmdlineLength = 1024
    /// Arguments vmlab sets itself: overriding them would lose the root disk, the console
    /// log or the guest's name, and with them the agent and the evidence.
    public static let reservedArguments = ["root", "rootfstype", "init", "rdinit", "console"]

    public init(kernel: String, initrd: String? = nil, cmdline: String? = nil) {
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
    }

    /// The workspace files this VM boots.
    public var files: [String] { [kernel] + (initrd.map { [$0] } ?? []) }

    /// Why `cmdline` cannot be appended to vmlab's kernel command line, or nil: printable
    /// ASCII words, at most `maxCmdlineLength` characters, none of vmlab's own arguments.
    public static func cmdlineProblem(_ cmdline: String) -> String? {
        if cmdline.count > maxCmdlineLength {
            return "the command line has \(cmdline.count) characters; at most \(maxCmdlineLength) are appended to vmlab's"
        }
        if let bad = cmdline.unicodeScalars.first(where: { !(0x20...0x7e).contains($0.value) }) {
            return "the command line holds \(String(bad).debugDescription); use printable ASCII characters and spaces only"
        }
        for word in cmdline.split(separator: " ") {
            let key = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? String(word)
            if reservedArguments.contains(key) || key.hasPrefix("vmlab.") {
                return "'\(word)' overrides an argument vmlab sets itself (\(reservedArguments.joined(separator: ", ")), "
                    + "vmlab.*): the guest would lose its root disk, console log or name; leave it out"
            }
        }
        return nil
    }
}
