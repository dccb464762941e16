import Foundation
import VMLabSupport

/// One libvirt host of a pool, as hosts.yaml names it.
public struct HostSpec: Sendable, Equatable {
    public var name: String
    /// A libvirt URI: qemu:///system, qemu+tcp://ADDR/system, qemu+ssh://USER@HOST/system...
    public var uri: String
    /// Memory the host keeps for itself: guests are placed only into free memory above it.
    public var reserveMemoryBytes: UInt64
    /// Lab VMs vmlab places on the host at once, at most.
    public var maxGuests: Int
    /// How images and disks reach the host (see `HostStorage`).
    public var storage: HostStorage

    public static let defaultReserve: UInt64 = 1 << 30
    public static let defaultMaxGuests = 16

    /// `storage` nil: the default for the URI (`HostStorage.default(for:)`).
    public init(name: String, uri: String, reserveMemoryBytes: UInt64 = defaultReserve, maxGuests: Int = defaultMaxGuests,
                storage: HostStorage? = nil) {
        self.name = name
        self.uri = uri
        self.reserveMemoryBytes = reserveMemoryBytes
        self.maxGuests = maxGuests
        self.storage = storage ?? HostStorage.default(for: uri)
    }
}

/// The libvirt hosts lab instances and grading replays may be placed on:
/// `$VMLAB_HOME/hosts.yaml`, or the file `--hosts` names.
///
/// ```yaml
/// hosts:
///   - name: lab-1
///     uri: qemu+tcp://10.0.0.11/system
///     reserve-memory: 2G      # left free on the host (default 1G)
///     max-guests: 24          # lab VMs at once (default 16)
///     storage: pool           # shared | pool (default: shared for a local URI, else pool)
///     pool-path: /srv/vmlab   # a pool host's folder for vmlab's volumes (default /var/lib/libvirt/vmlab)
/// ```
///
/// `storage` says how images and disks reach the host (`HostStorage`). A `shared` host sees
/// the vmlab home (images, overlays, saved baselines) at the same path as this machine; it
/// is the default for a URI without a host part (qemu:///system, test:///default) or with
/// the unix transport. A `pool` host, the default for every remote URI (qemu+tcp://HOST,
/// qemu+ssh://HOST...), gets images through libvirt's storage API: uploaded once into its
/// storage pool `vmlab-images`, content addressed, with overlays as volumes there.
public struct HostPoolSpec: Sendable, Equatable {
    public var hosts: [HostSpec]
    /// The file it was read from, for messages.
    public var source: String

    public init(hosts: [HostSpec], source: String) {
        self.hosts = hosts
        self.source = source
    }

    /// The name of the pool file in a vmlab home.
    public static let fileName = "hosts.yaml"

    public static func load(_ url: URL) throws -> HostPoolSpec {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw VMLabError(.notFound, "no host pool file \(url.path); write one (see `vmlab hosts --help`) or leave out --hosts")
        }
        let (reader, top) = try SpecReader.load(url)
        return try read(reader, top)
    }

    public static func parse(_ text: String, file: String) throws -> HostPoolSpec {
        let (reader, top) = try SpecReader.parse(text, file: file)
        return try read(reader, top)
    }

    private static func read(_ reader: SpecReader, _ top: MappingReader) throws -> HostPoolSpec {
        var hosts: [HostSpec] = []
        var firstNames: [String: String] = [:], firstURIs: [String: String] = [:]
        let items = top.mappingList("hosts")
        if top.keyNodeFor("hosts") == nil {
            top.failHere("hosts", "is required: a list of hosts, each with a name and a libvirt uri")
        } else if items.isEmpty && reader.errors.isEmpty {
            top.fail("hosts", "lists no hosts; name at least one (a libvirt uri each)")
        }
        for item in items {
            let name = item.string("name", required: true)
            let uri = item.string("uri", required: true)
            let reserve = item.size("reserve-memory") ?? HostSpec.defaultReserve
            let maxGuests = item.int("max-guests", range: 1...4096) ?? HostSpec.defaultMaxGuests
            let storageWord = item.string("storage")
            let poolPath = item.string("pool-path")
            item.finish()
            var storage: HostStorage?
            switch storageWord {
            case nil: break  // the URI's default, unless pool-path asks for a pool
            case "shared": storage = .shared
            case "pool": storage = .pool(path: HostStorage.defaultPoolPath)
            case let other?: item.fail("storage", "'\(displayText(other, limit: 40))' is not a storage mode; use shared (the host "
                                       + "sees this vmlab home at the same path) or pool (images uploaded through libvirt)")
            }
            if let poolPath {
                if storageWord == "shared" {
                    item.fail("pool-path", "is for storage: pool; a shared host uses the vmlab home's own paths")
                } else if !poolPath.hasPrefix("/") || poolPath.contains("..") || poolPath.contains(where: { $0.isNewline }) {
                    item.fail("pool-path", "'\(displayText(poolPath, limit: 120))' must be an absolute folder path on the host, without ..")
                } else {
                    storage = .pool(path: poolPath)
                }
            }
            if let name, !name.isEmpty {
                if !Naming.isValidName(name) {
                    item.fail("name", "'\(displayText(name, limit: 64))' is not a usable host name (lowercase letters, digits and -, starting with a letter, at most 40)")
                } else if let earlier = firstNames[name] {
                    item.fail("name", "\(name) is also the name of \(earlier); give each host its own name")
                }
                firstNames[name] = firstNames[name] ?? item.path
            }
            if let uri, !uri.isEmpty {
                if !uri.contains(":/") || uri.contains(where: { $0.isWhitespace }) {
                    item.fail("uri", "'\(displayText(uri, limit: 120))' is not a libvirt URI (qemu:///system, qemu+tcp://HOST/system, qemu+ssh://USER@HOST/system)")
                } else if let earlier = firstURIs[uri] {
                    item.fail("uri", "\(earlier) already names \(uri); list each host once")
                }
                firstURIs[uri] = firstURIs[uri] ?? item.path
            }
            if let name, let uri, !name.isEmpty, !uri.isEmpty {
                hosts.append(HostSpec(name: name, uri: uri, reserveMemoryBytes: reserve, maxGuests: maxGuests, storage: storage))
            }
        }
        top.finish()
        try reader.check()
        return HostPoolSpec(hosts: hosts, source: reader.file)
    }
}
