import Foundation

/// Names of everything vmlab creates in libvirt. All start with `vmlab-` so a person (and
/// `vmlab gc`) can tell them apart from anything else on the host.
public enum Naming {
    public static let prefix = "vmlab-"

    /// Lowercase letters, digits and dashes, starting with a letter, at most 40 characters.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.count <= 40 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// The libvirt domain of a stand-alone guest created with `vmlab vm create`.
    public static func guestDomain(_ name: String) -> String { "\(prefix)vm-\(name)" }
}

extension Naming {
    /// A fresh instance id: eight hex digits, part of every name the instance creates, so
    /// two labs, two starts of one lab or two students never collide.
    public static func newInstanceID() -> String {
        String(format: "%08x", UInt32.random(in: 0 ... .max))
    }

    /// Eight lowercase hex digits, as `newInstanceID` makes them.
    public static func isInstanceID(_ name: String) -> Bool {
        name.utf8.count == 8 && name.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// `vmlab-<lab>-<id>-<vm>`: readable in `virsh list`, unique by the id.
    public static func labDomain(lab: String, instance: String, vm: String) -> String {
        "\(prefix)\(lab)-\(instance)-\(vm)"
    }

    /// `vmlab-<id>-<network>`.
    public static func labNetwork(instance: String, network: String) -> String {
        "\(prefix)\(instance)-\(network)"
    }

    /// `vl<id><index>`: Linux bridge names must fit in 15 characters.
    public static func bridge(instance: String, index: Int) -> String {
        "vl\(instance)\(index)"
    }

    /// A locally administered MAC in QEMU's 52:54:00 range, stable for (instance, vm, nic).
    public static func mac(instance: String, vm: String, nic: Int) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in "\(instance)/\(vm)/\(nic)".utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(format: "52:54:00:%02x:%02x:%02x", (hash >> 16) & 0xff, (hash >> 8) & 0xff, hash & 0xff)
    }
}

extension Naming {
    /// The owner lock (`OwnerLock`) that guards the objects of `owner`: `lab:ID` and
    /// `guest:NAME` as the store records owners; nil for an owner nobody locks.
    public static func lock(owner: String) -> String? {
        if owner.hasPrefix("lab:") { return "instance-\(owner.dropFirst(4))" }
        if owner.hasPrefix("guest:") { return "vm-\(owner.dropFirst(6))" }
        return nil
    }
}
