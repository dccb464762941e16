import Foundation
import Yams

extension LabSpec {
    /// Every step kind lab.yaml accepts, as written there (the JSON schema lists the same).
    static let stepKinds = ["exec", "crash", "start", "shutdown", "wait-for-agent", "snapshot", "revert", "set-cpu",
                            "set-memory", "link", "copy-in", "copy-out", "sleep", "parallel", "measure"]
    /// Filesystems a lab disk can be formatted with at lab start.
    static let filesystems = ["ext2", "ext3", "ext4", "xfs", "swap"]
    static let maxSleepSeconds = 3600.0
    static let maxDisks = 8
    static let maxNICs = 4
    static let maxVMNameLength = 20

    /// Reads and validates Labs/NAME/lab.yaml (the lab is named after its folder). Every
    /// problem comes back at once as `SpecErrors`, each located as `file:line: field: message`,
    /// so an author fixes a lab in one pass instead of one error per try. With
    /// `imagesDirectory`, the lab's image recipe must exist there too.
    public static func load(_ url: URL, imagesDirectory: URL? = nil) throws -> LabSpec {
        let (reader, top) = try SpecReader.load(url)
        let loader = LabLoader(reader: reader, labDirectory: url.deletingLastPathComponent())
        let lab = loader.read(top, source: url, imagesDirectory: imagesDirectory)
        try reader.check()
        return lab
    }
}

/// Whether `name` may be a parameter name (it appears in `${name}` and `--set name=...`).
func isParameterName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
    return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
}

/// Whether `name` may be a measurement name (a column in results and CSV files).
func isMeasureName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
    return isParameterName(name)
}

/// `198.18.0.10/24`: four decimal octets and a prefix length 0...32.
func isIPv4CIDR(_ text: String) -> Bool {
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
    var vms: [VMSpec] = []
    /// Parameter values checks use at load time, where a run's values are not known yet.
    var defaults: [String: String] {
        Dictionary(parameters.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { a, _ in a })
    }
    /// Measure names seen in the setup or experiment being read.
    var measureNames: Set<String> = []

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
        let title = requiredText(top, "title", references: false)
        let summary = requiredText(top, "summary", references: false)
        let image = requiredText(top, "image", references: false)
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
        measureNames = []
        let setup = steps(top.list("setup") ?? [], path: "setup")
        let experiments = readExperiments(top)
        let artifacts = readArtifacts(top)
        top.finish()
        return LabSpec(name: name, title: title, summary: summary, image: image, parameters: parameters,
                       networks: networks, vms: vms, setup: setup, experiments: experiments, source: source,
                       artifacts: artifacts)
    }

    // MARK: Sections

    /// `artifacts: {ruleset.nft: {vm: victim, path: /etc/vmlab/ruleset.nft}}`.
    func readArtifacts(_ top: MappingReader) -> [ArtifactSpec] {
        var artifacts: [ArtifactSpec] = []
        for (name, m) in top.namedMappings("artifacts") {
            if let problem = ArtifactName.problem(name) { m.failHere(m.path, problem) }
            let vm = m.string("vm", required: true) ?? ""
            if !vm.isEmpty, !vms.contains(where: { $0.name == vm }) {
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

    func readNetworks(_ top: MappingReader) {
        for (name, m) in top.namedMappings("networks") {
            checkName(name, m, what: "network")
            if networks.contains(where: { $0.name == name }) { m.failHere(m.path, "network '\(name)' is declared twice") }
            networks.append(NetworkSpec(name: name))
            m.finish()
        }
    }

    func readVMs(_ top: MappingReader) {
        for (name, m) in top.namedMappings("vms") {
            checkName(name, m, what: "VM")
            if name.count > LabSpec.maxVMNameLength, Naming.isValidName(name) {
                m.failHere(m.path, "VM names are at most \(LabSpec.maxVMNameLength) characters "
                           + "(they become part of libvirt domain names); '\(name)' has \(name.count)")
            }
            if vms.contains(where: { $0.name == name }) { m.failHere(m.path, "VM '\(name)' is declared twice") }
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
                d.finish()
                if let diskName, let size {
                    disks.append(DiskSpec(name: diskName, sizeBytes: size, filesystem: filesystem))
                }
            }

            let nicReaders = m.mappingList("nics")
            if nicReaders.count > LabSpec.maxNICs {
                m.fail("nics", "at most \(LabSpec.maxNICs) NICs per VM; this VM has \(nicReaders.count)")
            }
            var nics: [NICSpec] = []
            for n in nicReaders {
                let network = n.string("network", required: true)
                if let network, !networks.contains(where: { $0.name == network }) {
                    let known = networks.map(\.name).joined(separator: ", ")
                    n.fail("network", "network '\(network)' is not declared "
                           + (known.isEmpty ? "(declare it under networks:)" : "(networks: \(known))"))
                }
                let address = n.string("address")
                if let address, !isIPv4CIDR(address) {
                    n.fail("address", "expected an IPv4 address with its prefix length, like 198.18.0.10/24, got '\(address)'")
                }
                n.finish()
                // Keep the NIC even when invalid, so `link` indexes are still checked against the count written.
                nics.append(NICSpec(network: network ?? "", address: address))
            }
            m.finish()
            vms.append(VMSpec(name: name, memoryMiB: memoryMiB, vcpus: vcpus, disks: disks, nics: nics, cpuset: cpuset))
        }
    }

    func readExperiments(_ top: MappingReader) -> [ExperimentSpec] {
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
            measureNames = []
            var steps: [Step] = []
            if let items = m.list("steps", required: true) {
                if items.isEmpty { m.fail("steps", "list at least one step") }
                steps = self.steps(items, path: m.field("steps"))
            }
            m.finish()
            experiments.append(ExperimentSpec(name: name, description: description, revertBeforeRun: revert, steps: steps))
        }
        return experiments
    }

    // MARK: Steps

    func steps(_ items: [Node], path: String) -> [Step] {
        items.enumerated().compactMap { index, item in step(item, field: "\(path)[\(index)]") }
    }

    /// One list item: a mapping with exactly one key, the step kind.
    func step(_ node: Node, field: String) -> Step? {
        let kinds = LabSpec.stepKinds.joined(separator: ", ")
        guard let mapping = node.mapping else {
            reader.fail(node, field, "expected a step: a mapping with one key, the step kind (\(kinds))")
            return nil
        }
        guard mapping.count == 1, let (keyNode, value) = mapping.first.map({ ($0.key, $0.value) }) else {
            if mapping.isEmpty {
                reader.fail(node, field, "empty step; write one of: \(kinds)")
            } else {
                let keys = mapping.keys.compactMap(\.string).joined(separator: ", ")
                reader.fail(node, field, "a step has exactly one key, its kind, but this one has \(keys) "
                            + "(start each step with its own '-')")
            }
            return nil
        }
        guard let kind = keyNode.string, LabSpec.stepKinds.contains(kind) else {
            reader.fail(keyNode, field, "unknown step kind '\(keyNode.string ?? "")' (known kinds: \(kinds))")
            return nil
        }
        let f = "\(field).\(kind)"
        switch kind {
        case "crash", "start", "shutdown":
            guard let vm = scalarVM(value, field: f, example: "\(kind): box") else { return nil }
            return kind == "crash" ? .crash(vm: vm) : kind == "start" ? .start(vm: vm) : .shutdown(vm: vm)
        case "wait-for-agent":
            if case .scalar = value {
                guard let vm = scalarVM(value, field: f, example: "wait-for-agent: box") else { return nil }
                return .waitForAgent(vm: vm, timeoutSeconds: 300)
            }
            guard let m = fields(value, f, keyNode, "a VM name or {vm, timeout}") else { return nil }
            let vm = self.vm(m)
            let timeout = m.int("timeout", range: 1...86400) ?? 300
            m.finish()
            return vm.map { .waitForAgent(vm: $0, timeoutSeconds: timeout) }
        case "sleep":
            // Seconds, `${param}` or `= arithmetic`: checked with the parameters' defaults here,
            // and with the run's values when the step runs.
            guard case .scalar(let s) = value, !s.string.isEmpty else {
                reader.fail(value, f, "expected seconds, a number above 0 and at most 3600, like `sleep: 2.5` or `sleep: ${window}`")
                return nil
            }
            checkReferences(s.string, value, f)
            if let expanded = try? substitute(s.string, defaults) {
                let seconds = try? numberValue(expanded)
                if !(seconds.map { $0 > 0 && $0 <= LabSpec.maxSleepSeconds } ?? false) {
                    reader.fail(value, f, "expected seconds, a number above 0 and at most 3600, like `sleep: 2.5` or `sleep: ${window}`"
                                + (expanded == s.string ? "" : " ('\(s.string)' gives '\(expanded)' with the parameters' defaults)"))
                }
            }
            return .sleep(seconds: s.string)
        case "parallel":
            guard case .sequence(let seq) = value, !seq.isEmpty else {
                reader.fail(value, f, "expected a non-empty list of steps to start together")
                return nil
            }
            return .parallel(steps(Array(seq), path: f))
        default:
            guard let m = fields(value, f, keyNode, "a mapping of the step's fields") else { return nil }
            defer { m.finish() }
            return mappingStep(kind, m)
        }
    }

    /// The steps written as a mapping of fields (`exec: {vm: box, command: ...}`).
    func mappingStep(_ kind: String, _ m: MappingReader) -> Step? {
        switch kind {
        case "exec":
            let vm = self.vm(m)
            let command = requiredText(m, "command")
            let timeout = m.int("timeout", range: 1...86400) ?? 300
            let allowFailure = m.bool("allow-failure") ?? false
            guard let vm, !command.isEmpty else { return nil }
            return .exec(vm: vm, command: command, timeoutSeconds: timeout, allowFailure: allowFailure)
        case "snapshot", "revert":
            let vm = self.vm(m)
            let name = requiredText(m, "name")
            guard let vm, !name.isEmpty else { return nil }
            return kind == "snapshot" ? .snapshot(vm: vm, name: name) : .revert(vm: vm, name: name)
        case "set-cpu":
            let vm = self.vm(m)
            let shares = tuning(m, "shares"), period = tuning(m, "period"), quota = tuning(m, "quota")
            if m.value("shares") == nil, m.value("period") == nil, m.value("quota") == nil {
                m.failHere(m.path, "give at least one of shares, period, quota")
            }
            return vm.map { .setCPU(vm: $0, shares: shares, period: period, quota: quota) }
        case "set-memory":
            let vm = self.vm(m)
            let memory = requiredText(m, "memory")
            if memory.trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                // Arithmetic: it must compute with every parameter at its default.
                if let expanded = try? substitute(memory, defaults) {
                    do {
                        if let mib = try arithmeticValue(expanded), mib < 1 {
                            m.fail("memory", "'\(memory)' gives \(shortNumber(mib)) MiB with the parameters' defaults")
                        }
                    } catch let error as VMLabError {
                        m.fail("memory", error.message)
                    } catch {
                        m.fail("memory", "\(error)")
                    }
                }
            } else if !memory.isEmpty, !memory.contains("${"), (Int(memory) ?? 0) <= 0 {
                m.fail("memory", "expected MiB as a whole number above 0 (like 256), ${parameter}, "
                       + "or arithmetic like \"= 512 / ${ratio}\", got '\(memory)'")
            }
            guard let vm, !memory.isEmpty else { return nil }
            return .setMemory(vm: vm, mebibytes: memory)
        case "link":
            let vm = self.vm(m)
            var nic = m.int("nic") ?? 0
            if nic < 0 {
                m.fail("nic", "nic is a 0-based index: 0 is the VM's first NIC")
                nic = 0
            }
            if let vm, let spec = vms.first(where: { $0.name == vm }), nic >= spec.nics.count {
                if spec.nics.isEmpty {
                    m.fail(m.value("nic") != nil ? "nic" : "vm", "VM \(vm) has no NICs; declare one under vms.\(vm).nics")
                } else {
                    m.fail("nic", "VM \(vm) has \(spec.nics.count) NIC(s); nic is 0-based, so use 0...\(spec.nics.count - 1)")
                }
            }
            let state = m.string("state", required: true)
            if let state, state != "up", state != "down" {
                m.fail("state", "expected up or down, got '\(state)'")
            }
            guard let vm, let state, state == "up" || state == "down" else { return nil }
            return .link(vm: vm, nic: nic, up: state == "up")
        case "copy-in":
            let vm = self.vm(m)
            let from = requiredText(m, "from")
            if from.hasPrefix("/") {
                m.fail("from", "give a path relative to the lab folder, not an absolute one")
            } else if !from.isEmpty, !from.contains("${") {
                let file = labDirectory.appendingPathComponent(from)
                if !FileManager.default.fileExists(atPath: file.path) {
                    m.fail("from", "file \(file.path) does not exist (paths are relative to the lab folder)")
                }
            }
            let to = requiredText(m, "to")
            checkGuestPath(to, m, "to")
            guard let vm, !from.isEmpty, !to.isEmpty else { return nil }
            return .copyIn(vm: vm, from: from, to: to)
        case "copy-out":
            let vm = self.vm(m)
            let from = requiredText(m, "from")
            checkGuestPath(from, m, "from")
            let name = requiredText(m, "name")
            if !name.isEmpty, let problem = ArtifactName.problem(name) { m.fail("name", problem) }
            guard let vm, !from.isEmpty, !name.isEmpty else { return nil }
            return .copyOut(vm: vm, from: from, name: name)
        case "measure":
            return measure(m).map(Step.measure)
        default:
            preconditionFailure("step kind \(kind) is listed in stepKinds but not read")
        }
    }

    func measure(_ m: MappingReader) -> MeasureSpec? {
        let name = m.string("name", required: true)
        let earlier = measureNames
        if let name {
            if !isMeasureName(name) {
                m.fail("name", "'\(name)' must be lowercase letters, digits and underscores, starting with a letter "
                       + "(it becomes a column in results)")
            } else if measureNames.contains(name) {
                m.fail("name", "measure '\(name)' is already defined in this experiment; give each its own name")
            }
            measureNames.insert(name)
        }
        if let cpuVMNode = m.value("cpu-time") {
            let unit = m.string("unit") ?? "s"
            let vm = scalarVM(cpuVMNode, field: m.field("cpu-time"), example: "cpu-time: box")
            guard let duringNode = m.value("during") else {
                m.failHere(m.path, "cpu-time needs `during:` (the step while which the VM's CPU time is counted)")
                return nil
            }
            let step = self.step(duringNode, field: m.field("during"))
            guard let name, let vm, let step else { return nil }
            return MeasureSpec(name: name, unit: unit, source: .cpuTime(vm: vm, during: step))
        }
        if m.value("expression") != nil {
            let unit = m.string("unit", required: true)
            let text = requiredText(m, "expression", references: false)
            var expression: Expression?
            do {
                expression = try Expression(text)
            } catch {
                m.fail("expression", "'\(text)': \(error)")
            }
            for id in expression?.identifiers.sorted() ?? [] where !earlier.contains(id) && !parameterNames.contains(id) {
                let measures = earlier.sorted().joined(separator: ", ")
                m.fail("expression", "'\(id)' is neither a measure taken earlier in this experiment "
                       + "(\(measures.isEmpty ? "there is none" : measures)) nor a parameter")
            }
            guard let name, let unit, let expression else { return nil }
            return MeasureSpec(name: name, unit: unit, source: .expression(expression))
        }
        if let durationNode = m.value("duration") {
            let unit = m.string("unit") ?? "s"
            let step = self.step(durationNode, field: m.field("duration"))
            guard let name, let step else { return nil }
            return MeasureSpec(name: name, unit: unit, source: .duration(step))
        }
        let unit = m.string("unit", required: true)
        let vm = self.vm(m)
        let command = requiredText(m, "command")
        let timeout = m.int("timeout", range: 1...86400) ?? 300
        let regex = pattern(m, "regex")
        let matches = pattern(m, "matches")
        let exitCode = m.bool("exit-code") ?? false
        let given = [regex.map { _ in "regex" }, matches.map { _ in "matches" }, exitCode ? "exit-code" : nil]
            .compactMap { $0 }
        if given.count > 1 {
            m.failHere(m.path, "give at most one of regex, matches, exit-code (found \(given.joined(separator: ", ")))")
        }
        let extract: MeasureSpec.Extract = regex.map { .regex($0) } ?? matches.map { .matches($0) }
            ?? (exitCode ? .exitCode : .number)
        guard let name, let unit, let vm, !command.isEmpty else { return nil }
        return MeasureSpec(name: name, unit: unit,
                           source: .command(vm: vm, command: command, extract: extract, timeoutSeconds: timeout))
    }

    // MARK: Fields

    /// A step's value read as a mapping of fields.
    func fields(_ value: Node, _ field: String, _ keyNode: Node, _ expected: String) -> MappingReader? {
        guard value.mapping != nil else {
            reader.fail(value, field, "expected \(expected)")
            return nil
        }
        return MappingReader(reader: reader, node: value, path: field, keyNode: keyNode)
    }

    /// `crash: box`: the value is the VM's name.
    func scalarVM(_ value: Node, field: String, example: String) -> String? {
        guard case .scalar(let s) = value, !s.string.isEmpty else {
            reader.fail(value, field, "expected a VM name, like `\(example)`")
            return nil
        }
        return checkVM(s.string, value, field) ? s.string : nil
    }

    /// The required `vm` field, which must name a declared VM.
    func vm(_ m: MappingReader) -> String? {
        guard let name = m.string("vm", required: true) else { return nil }
        return checkVM(name, m.value("vm"), m.field("vm")) ? name : nil
    }

    func checkVM(_ name: String, _ node: Node?, _ field: String) -> Bool {
        if vms.contains(where: { $0.name == name }) { return true }
        let known = vms.map(\.name).joined(separator: ", ")
        reader.fail(node, field, "unknown VM '\(name)' " + (known.isEmpty ? "(this lab declares no VMs)" : "(VMs: \(known))"))
        return false
    }

    /// A required, non-empty text field whose `${name}` references must be declared parameters.
    func requiredText(_ m: MappingReader, _ key: String, references: Bool = true) -> String {
        guard let text = m.string(key, required: true) else { return "" }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            m.fail(key, "is empty")
            return ""
        }
        if references { checkReferences(text, m.value(key), m.field(key)) }
        return text
    }

    /// An optional text field with `${name}` references.
    func optionalText(_ m: MappingReader, _ key: String) -> String? {
        guard let text = m.string(key) else { return nil }
        checkReferences(text, m.value(key), m.field(key))
        return text
    }

    func checkReferences(_ text: String, _ node: Node?, _ field: String) {
        guard text.contains("$") else { return }
        do {
            for case .reference(let name) in try templatePieces(text) where !parameterNames.contains(name) {
                let known = parameterNames.joined(separator: ", ")
                reader.fail(node, field, "unknown parameter '${\(name)}' "
                            + (known.isEmpty ? "(this lab declares no parameters)" : "(parameters: \(known))"))
            }
        } catch let error as VMLabError {
            reader.fail(node, field, error.message)
        } catch {
            reader.fail(node, field, "\(error)")
        }
    }

    /// set-cpu values: a whole number, or text with `${param}` checked when the step runs.
    func tuning(_ m: MappingReader, _ key: String) -> String? {
        guard let text = optionalText(m, key) else { return nil }
        if !text.contains("${"), Int(text) == nil {
            m.fail(key, "expected a whole number or ${parameter}, got '\(text)'")
        }
        return text
    }

    /// A regex field; it must compile (with parameter defaults in place of `${name}`).
    func pattern(_ m: MappingReader, _ key: String) -> String? {
        guard let text = optionalText(m, key) else { return nil }
        if let expanded = try? substitute(text, defaults) {
            do {
                _ = try NSRegularExpression(pattern: expanded)
            } catch {
                m.fail(key, "'\(text)' is not a valid regular expression")
            }
        }
        return text
    }

    func checkGuestPath(_ path: String, _ m: MappingReader, _ key: String) {
        if !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("${") {
            m.fail(key, "give an absolute path in the guest, like /root/\(path)")
        }
    }

    func checkName(_ name: String, _ m: MappingReader, what: String) {
        if !Naming.isValidName(name) {
            m.failHere(m.path, "\(what) names are lowercase letters, digits and dashes, starting with a letter, "
                       + "at most 40 characters ('\(name)')")
        }
    }
}
