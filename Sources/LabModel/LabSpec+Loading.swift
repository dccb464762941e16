import Foundation
import VMLabSupport
import Yams

extension LabSpec {
    /// Filesystems a lab disk can be formatted with at lab start.
    static let filesystems = ["ext2", "ext3", "ext4", "xfs", "swap"]
    /// Host cache modes of a disk (libvirt `<driver cache=...>`).
    public static let cacheModes = ["none", "writeback", "writethrough", "directsync", "unsafe"]
    static let maxDisks = 8
    static let maxNICs = 4
    static let maxVMNameLength = 20
    /// Labs are small by design; the cap also bounds what one lab file can make vmlab create.
    public static let maxVMs = 64
    /// Largest lab file read (instructor data, but read by every student's vmlab).
    public static let maxFileBytes = 1 << 20

    /// Reads and validates Labs/NAME/lab.yaml (the lab is named after its folder). Every
    /// problem comes back at once as `SpecErrors`, each located as `file:line: field: message`,
    /// so an author fixes a lab in one pass instead of one error per try. With
    /// `imagesDirectory`, the lab's image recipe must exist there too.
    public static func load(_ url: URL, imagesDirectory: URL? = nil) throws -> LabSpec {
        let (reader, top) = try SpecReader.load(url, maxBytes: maxFileBytes)
        let loader = LabLoader(reader: reader, labDirectory: url.deletingLastPathComponent())
        let lab = loader.read(top, source: url, imagesDirectory: imagesDirectory)
        try reader.check()
        return lab
    }
}

/// Whether `name` may be a parameter name (it appears in `${name}` and `--set name=...`).
package func isParameterName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
    return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
}

/// Whether `name` may be a measurement name (a column in results and CSV files).
package func isMeasureName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
    return isParameterName(name)
}

/// `198.18.0.10/24`: four decimal octets and a prefix length 0...32.
package func isIPv4CIDR(_ text: String) -> Bool {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    func decimal(_ s: Substring, max: Int) -> Bool {
        guard (1...3).contains(s.count), s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(s) else { return false }
        return n <= max
    }
    guard parts.count == 2, decimal(parts[1], max: 32) else { return false }
    let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets.allSatisfy { decimal($0, max: 255) }
}

/// Reads one lab file; state shared by the sections (what is declared, for references).
private final class LabLoader {
    let reader: SpecReader
    let labDirectory: URL
    var parameters: [ParameterSpec] = []
    /// Every parameter name declared, valid or not, so one bad parameter does not also
    /// make every `${name}` using it an error.
    var parameterNames: [String] = []
    var networks: [NetworkSpec] = []
    var networkNames: Set<String> = []
    var vms: [VMSpec] = []
    var vmNames: Set<String> = []
    /// The `boot:` readers of VMs that boot from the workspace, for checks once it is read.
    var bootReaders: [MappingReader] = []
    /// Parameter values checks use at load time, where a run's values are not known yet.
    var defaults: [String: String] {
        Dictionary(parameters.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { a, _ in a })
    }

    init(reader: SpecReader, labDirectory: URL) {
        self.reader = reader
        self.labDirectory = labDirectory
    }

    func read(_ top: MappingReader, source: URL, imagesDirectory: URL?) -> LabSpec {
        let name = labDirectory.lastPathComponent
        if !Naming.isValidName(name) {
            reader.fail(nil, "", "the lab folder name '\(name)' must be lowercase letters, digits and dashes, "
                        + "starting with a letter, at most 40 characters (it names the lab's VMs and networks)")
        }
        let title = requiredText(top, "title")
        let summary = requiredText(top, "summary")
        let image = requiredText(top, "image")
        if !image.isEmpty {
            if !Naming.isValidName(image) {
                top.fail("image", "'\(image)' is not a recipe name (lowercase letters, digits and dashes)")
            } else if let imagesDirectory {
                checkImage(image, in: imagesDirectory, top)
            }
        }
        readParameters(top)
        readNetworks(top)
        readVMs(top)
        let context = StepContext(reader: reader, labDirectory: labDirectory, parameterNames: parameterNames,
                                  defaults: defaults, vms: vms)
        let setup = context.steps(top.list("setup") ?? [], path: "setup")
        let experiments = readExperiments(top, context)
        var workspace = readWorkspace(top)
        checkBootFiles(&workspace)
        let artifacts = readArtifacts(top, workspace: workspace)
        top.finish()
        return LabSpec(name: name, title: title, summary: summary, image: image, parameters: parameters,
                       networks: networks, vms: vms, setup: setup, experiments: experiments, source: source,
                       artifacts: artifacts, workspace: workspace)
    }

    // MARK: Sections

    /// `workspace: {starter: files/starter, max-files: 64, max-bytes: 1M}`.
    func readWorkspace(_ top: MappingReader) -> WorkspaceSpec? {
        guard let m = top.mapping("workspace") else { return nil }
        defer { m.finish() }
        var spec = WorkspaceSpec()
        if let starter = m.string("starter") {
            do {
                _ = try LabFolder(labDirectory: labDirectory).directory(starter)
                spec.starter = starter
            } catch {
                m.fail("starter", error.message)
            }
        }
        spec.maxFiles = m.int("max-files", range: 1...1000) ?? WorkspaceSpec.defaultMaxFiles
        if let bytes = m.size("max-bytes") {
            if bytes < 1 || bytes > 64 << 20 { m.fail("max-bytes", "give a size from 1 byte to 64M") }
            spec.maxBytes = Int(min(bytes, 64 << 20))
        }
        return spec
    }

    /// `boot: {kernel: bzImage, initrd: initrd.img, cmdline: "loglevel=7"}` of a VM.
    func readBoot(_ vm: MappingReader) -> BootSpec? {
        guard let m = vm.mapping("boot") else { return nil }
        defer { m.finish() }
        bootReaders.append(m)
        let kernel = m.string("kernel", required: true)
        let initrd = m.string("initrd")
        let cmdline = m.string("cmdline")
        for (field, file) in [("kernel", kernel), ("initrd", initrd)] {
            if let file, let problem = ArtifactName.problem(file) {
                m.fail(field, "\(problem): give the name of a file directly in the workspace")
            }
        }
        if let kernel, kernel == initrd { m.fail("initrd", "the kernel and the initrd are one file, '\(kernel)'") }
        if let cmdline, let problem = BootSpec.cmdlineProblem(cmdline) { m.fail("cmdline", problem) }
        guard let kernel else { return nil }
        return BootSpec(kernel: kernel, initrd: initrd, cmdline: cmdline)
    }

    /// VMs boot files of the workspace: the lab must have one, and those files are read
    /// apart from the rest of it (see `WorkspaceSpec.bootFiles`).
    func checkBootFiles(_ workspace: inout WorkspaceSpec?) {
        guard !bootReaders.isEmpty else { return }
        guard workspace != nil else {
            for m in bootReaders {
                m.failHere(m.path, "a VM boots files of the student's workspace, but the lab declares none; add `workspace: {}`")
            }
            return
        }
        workspace?.bootFiles = Set(vms.flatMap { $0.boot?.files ?? [] })
    }

    /// `artifacts: {ruleset.nft: {vm: victim, path: /etc/vmlab/ruleset.nft}}` or
    /// `{hello.c: {workspace: hello.c}}` (a file of the student's workspace).
    func readArtifacts(_ top: MappingReader, workspace: WorkspaceSpec?) -> [ArtifactSpec] {
        var artifacts: [ArtifactSpec] = []
        for (name, m) in top.namedMappings("artifacts") {
            if let problem = ArtifactName.problem(name) { m.failHere(m.path, problem) }
            if let file = m.string("workspace") {
                if workspace == nil { m.fail("workspace", "the lab declares no workspace; add `workspace: {}`") }
                if let problem = ArtifactName.problem(file) { m.fail("workspace", problem) }
                artifacts.append(ArtifactSpec(name: name, workspaceFile: file))
                m.finish()
                continue
            }
            let vm = m.string("vm", required: true) ?? ""
            if !vm.isEmpty, !vmNames.contains(vm) {
                m.fail("vm", "no VM '\(vm)' (VMs: \(vms.map(\.name).joined(separator: ", ")))")
            }
            let path = m.string("path", required: true) ?? ""
            if !path.isEmpty, !path.hasPrefix("/") { m.fail("path", "guest paths must be absolute") }
            artifacts.append(ArtifactSpec(name: name, vm: vm, path: path))
            m.finish()
        }
        return artifacts
    }

    func checkImage(_ image: String, in directory: URL, _ top: MappingReader) {
        let recipe = directory.appendingPathComponent("\(image).yaml")
        guard !FileManager.default.fileExists(atPath: recipe.path) else { return }
        let known = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        top.fail("image", "no image recipe \(recipe.path) "
                 + (known.isEmpty ? "(there are no recipes there)" : "(recipes: \(known.joined(separator: ", ")))"))
    }

    func readParameters(_ top: MappingReader) {
        for (name, m) in top.namedMappings("parameters") {
            if !isParameterName(name) {
                m.failHere(m.path, "parameter names are lowercase letters, digits and underscores, "
                           + "starting with a letter or underscore (they appear as ${name})")
            }
            if parameterNames.contains(name) { m.failHere(m.path, "parameter '\(name)' is declared twice") }
            parameterNames.append(name)

            let type = m.string("type", required: true)
            let defaultValue = m.string("default", required: true)
            let description = m.string("description")
            let unit = m.string("unit")
            let perStudent = m.bool("per-student") ?? false
            let hasValues = m.value("values") != nil
            let hasBounds = m.value("min") != nil || m.value("max") != nil
            var kind: ParameterSpec.Kind?
            switch type {
            case "int":
                let min = m.int("min"), max = m.int("max")
                if let min, let max, min > max { m.fail("min", "min \(min) is above max \(max)") }
                kind = .int(min: min, max: max)
            case "number":
                let min = m.number("min"), max = m.number("max")
                if let min, let max, min > max {
                    m.fail("min", "min \(formatNumber(min)) is above max \(formatNumber(max))")
                }
                kind = .number(min: min, max: max)
            case "choice":
                let values = m.stringList("values")
                if values.isEmpty {
                    if hasValues { m.fail("values", "a choice parameter needs at least one value") } else {
                        m.failHere(m.field("values"), "a choice parameter needs a list of values, like [ordered, writeback]")
                    }
                } else if Set(values).count != values.count {
                    m.fail("values", "a value is listed twice")
                }
                kind = .choice(values)
            case "string":
                kind = .string
            case nil:
                break
            case let other?:
                m.fail("type", "unknown type '\(other)' (types: int, number, choice, string)")
            }
            if let type, type != "choice", hasValues {
                m.fail("values", "only a choice parameter has values (this one is \(type))")
            }
            if let type, type != "int", type != "number", hasBounds {
                m.fail(m.value("min") != nil ? "min" : "max", "only int and number parameters have min and max")
            }
            if let kind, let defaultValue {
                let spec = ParameterSpec(name: name, kind: kind, defaultValue: defaultValue, unit: unit,
                                         description: description, perStudent: perStudent)
                if let problem = spec.problem(with: defaultValue) {
                    m.fail("default", "\(problem)")
                }
                parameters.append(spec)
            }
            m.finish()
        }
    }

    /// `lan: {}` (isolated), `campus: {kind: outside, address: 198.18.10.1/24}`,
    /// `inner: {kind: nat, address: 198.18.20.1/24, outside: campus}`.
    func readNetworks(_ top: MappingReader) {
        var natOutsides: [(index: Int, outside: String?, reader: MappingReader)] = []
        for (name, m) in top.namedMappings("networks") {
            checkName(name, m, what: "network")
            if !networkNames.insert(name).inserted { m.failHere(m.path, "network '\(name)' is declared twice") }
            let kindName = m.string("kind") ?? "isolated"
            var kind = NetworkSpec.Kind.isolated
            switch kindName {
            case "isolated": kind = .isolated
            case "outside": kind = .outside
            case "nat": kind = .nat(outside: "")
            default:
                m.fail("kind", "unknown network kind '\(kindName)' (kinds: \(NetworkSpec.kindNames.joined(separator: ", ")))")
            }
            let outside = m.string("outside")
            if outside != nil, kindName != "nat" {
                m.fail("outside", "only a nat network names the outside network it translates to")
            }
            var address: IPv4Network?
            if let text = m.string("address") {
                if kindName == "isolated" {
                    m.fail("address", "an isolated network has no host address (give it kind: nat or kind: outside)")
                } else if let network = IPv4Network(text) {
                    if !(8...30).contains(network.prefixLength) {
                        m.fail("address", "use a prefix length from 8 to 30, got /\(network.prefixLength)")
                    } else if network.isNetworkAddress || network.isBroadcastAddress {
                        m.fail("address", "\(text) is the subnet's \(network.isNetworkAddress ? "network" : "broadcast") address; "
                               + "give the bridge a host address, like \(IPv4Network.dotted(network.networkAddress + 1))/\(network.prefixLength)")
                    } else if let other = networks.first(where: { $0.address.map(network.overlaps) ?? false }) {
                        m.fail("address", "\(network.subnet) overlaps network \(other.name) (\(other.address!.subnet)); "
                               + "every addressed network needs a subnet of its own")
                    } else {
                        address = network
                    }
                } else {
                    m.fail("address", "expected the bridge's IPv4 address with its prefix length, like 198.18.10.1/24, got '\(text)'")
                }
            } else if kind != .isolated {
                m.failHere(m.field("address"), "a \(kindName) network needs the bridge's own address, like 198.18.10.1/24")
            }
            if kindName == "nat" { natOutsides.append((networks.count, outside, m)) }
            networks.append(NetworkSpec(name: name, kind: kind, address: address))
            m.finish()
        }
        // A NAT network translates towards exactly one outside network: named, or the only one.
        let outsides = networks.filter { $0.kind == .outside }.map(\.name)
        for (index, outside, m) in natOutsides {
            if let outside {
                if outsides.contains(outside) {
                    networks[index].kind = .nat(outside: outside)
                } else {
                    m.fail("outside", "'\(outside)' is not an outside network "
                           + (outsides.isEmpty ? "(declare one with kind: outside)" : "(outside networks: \(outsides.joined(separator: ", ")))"))
                }
            } else if outsides.count == 1 {
                networks[index].kind = .nat(outside: outsides[0])
            } else {
                m.failHere(m.field(outsides.isEmpty ? "kind" : "outside"), outsides.isEmpty
                           ? "a nat network translates towards an outside network: declare one with kind: outside"
                           : "several outside networks (\(outsides.joined(separator: ", "))): name the one to translate to with outside:")
            }
        }
    }

    func readVMs(_ top: MappingReader) {
        let entries = top.namedMappings("vms")
        if entries.count > LabSpec.maxVMs {
            top.fail("vms", "a lab has at most \(LabSpec.maxVMs) VMs; this one declares \(entries.count)")
            return
        }
        /// Which NIC took each address on each network: two NICs with one address would fight over it.
        var addressOwners: [String: String] = [:]
        for (name, m) in entries {
            checkName(name, m, what: "VM")
            if name.count > LabSpec.maxVMNameLength, Naming.isValidName(name) {
                m.failHere(m.path, "VM names are at most \(LabSpec.maxVMNameLength) characters "
                           + "(they become part of libvirt domain names); '\(name)' has \(name.count)")
            }
            if !vmNames.insert(name).inserted { m.failHere(m.path, "VM '\(name)' is declared twice") }
            var memoryMiB = 512
            if let bytes = m.size("memory") {
                if bytes % (1 << 20) != 0 {
                    m.fail("memory", "give a whole number of MiB, like 512M or 2G")
                } else if !((64 << 20)...(64 << 30)).contains(bytes) {
                    m.fail("memory", "\(bytes >> 20)M is out of range 64M...64G")
                } else {
                    memoryMiB = Int(bytes >> 20)
                }
            }
            let vcpus = m.int("vcpus", range: 1...16) ?? 1
            let cpuset = m.string("cpuset")
            if let cpuset, cpuset.isEmpty || !cpuset.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "," || $0 == "-") }) {
                m.fail("cpuset", "expected host CPUs like 0 or 0-1 or 0,2, got '\(cpuset)'")
            }

            let diskReaders = m.mappingList("disks")
            if diskReaders.count > LabSpec.maxDisks {
                m.fail("disks", "at most \(LabSpec.maxDisks) disks per VM (vdb to vdi); this VM has \(diskReaders.count)")
            }
            var disks: [DiskSpec] = []
            for d in diskReaders {
                let diskName = d.string("name", required: true)
                if let diskName {
                    if !Naming.isValidName(diskName) {
                        d.fail("name", "'\(diskName)' must be lowercase letters, digits and dashes, starting with a letter")
                    } else if disks.contains(where: { $0.name == diskName }) {
                        d.fail("name", "VM \(name) already has a disk named '\(diskName)'")
                    }
                }
                let size = d.size("size", required: true)
                let filesystem = d.string("filesystem")
                if let filesystem, !LabSpec.filesystems.contains(filesystem) {
                    d.fail("filesystem", "unknown filesystem '\(filesystem)' "
                           + "(choose \(LabSpec.filesystems.joined(separator: ", ")), or leave it out for a blank disk)")
                }
                let cache = d.string("cache")
                if let cache, !LabSpec.cacheModes.contains(cache) {
                    d.fail("cache", "unknown cache mode '\(cache)' (choose \(LabSpec.cacheModes.joined(separator: ", ")), "
                           + "or leave it out for QEMU's default, writeback)")
                }
                d.finish()
                if let diskName, let size {
                    disks.append(DiskSpec(name: diskName, sizeBytes: size, filesystem: filesystem,
                                          cache: cache.flatMap { LabSpec.cacheModes.contains($0) ? $0 : nil }))
                }
            }

            let nicReaders = m.mappingList("nics")
            if nicReaders.count > LabSpec.maxNICs {
                m.fail("nics", "at most \(LabSpec.maxNICs) NICs per VM; this VM has \(nicReaders.count)")
            }
            var nics: [NICSpec] = []
            for n in nicReaders {
                let network = n.string("network", required: true)
                if let network, !networkNames.contains(network) {
                    let known = networks.map(\.name).joined(separator: ", ")
                    n.fail("network", "network '\(network)' is not declared "
                           + (known.isEmpty ? "(declare it under networks:)" : "(networks: \(known))"))
                }
                let address = n.string("address")
                if let address, !isIPv4CIDR(address) {
                    n.fail("address", "expected an IPv4 address with its prefix length, like 198.18.0.10/24, got '\(address)'")
                } else if let address, let network {
                    let ip = address.split(separator: "/")[0]
                    if let bridge = networks.first(where: { $0.name == network })?.address, let nic = IPv4Network(address) {
                        if !bridge.contains(nic) || nic.prefixLength != bridge.prefixLength {
                            n.fail("address", "\(address) is not on network \(network)'s subnet \(bridge.subnet)")
                        } else if nic.address == bridge.address {
                            n.fail("address", "\(ip) is the address of network \(network)'s bridge; give the NIC another")
                        }
                    }
                    let owner = "vms.\(name).nics[\(nics.count)]"
                    if let earlier = addressOwners.updateValue(owner, forKey: "\(network) \(ip)") {
                        n.fail("address", "\(ip) is already the address of \(earlier) on network \(network)")
                    }
                }
                n.finish()
                // Keep the NIC even when invalid, so `link` indexes are still checked against the count written.
                nics.append(NICSpec(network: network ?? "", address: address))
            }
            let boot = readBoot(m)
            m.finish()
            vms.append(VMSpec(name: name, memoryMiB: memoryMiB, vcpus: vcpus, disks: disks, nics: nics, cpuset: cpuset,
                              boot: boot))
        }
    }

    func readExperiments(_ top: MappingReader, _ context: StepContext) -> [ExperimentSpec] {
        if top.value("experiments") == nil {
            top.failHere("experiments", "is required: declare at least one experiment")
            return []
        }
        let entries = top.namedMappings("experiments")
        if entries.isEmpty, top.value("experiments")?.mapping?.isEmpty == true {
            top.fail("experiments", "declare at least one experiment")
        }
        var experiments: [ExperimentSpec] = []
        for (name, m) in entries {
            checkName(name, m, what: "experiment")
            if experiments.contains(where: { $0.name == name }) {
                m.failHere(m.path, "experiment '\(name)' is declared twice")
            }
            let description = m.string("description") ?? ""
            let revert = m.bool("revert") ?? true
            context.measureNames = []
            var steps: [Step] = []
            if let items = m.list("steps", required: true) {
                if items.isEmpty { m.fail("steps", "list at least one step") }
                steps = context.steps(items, path: m.field("steps"))
            }
            m.finish()
            experiments.append(ExperimentSpec(name: name, description: description, revertBeforeRun: revert, steps: steps))
        }
        return experiments
    }

    // MARK: Fields

    /// A required, non-empty text field.
    func requiredText(_ m: MappingReader, _ key: String) -> String {
        guard let text = m.string(key, required: true) else { return "" }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            m.fail(key, "is empty")
            return ""
        }
        return text
    }

    func checkName(_ name: String, _ m: MappingReader, what: String) {
        if !Naming.isValidName(name) {
            m.failHere(m.path, "\(what) names are lowercase letters, digits and dashes, starting with a letter, "
                       + "at most 40 characters ('\(name)')")
        }
    }
}
