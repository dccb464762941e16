import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// Starting a lab from a saved baseline (`BaselineCache`), and saving one after a cold start.
extension LabRunner {
    /// The cache key of a start, or nil when the lab cannot be cached (see `BaselineCache.key`).
    func baselineKey(_ lab: LabSpec, image: BuiltImage, accelerator: Accelerator, values: [String: String]) throws -> String? {
        let placeholder = InstanceRecord(id: "00000000", lab: lab.name, imageDigest: image.manifest.digest,
                                         fixedParameters: "{}", state: .starting, pid: 0, createdAt: Date(timeIntervalSince1970: 0))
        let tag = OwnerTag(owner: placeholder.owner, home: "")
        let definitions = lab.vms.map { domainDefinition(lab, vm: $0, instance: placeholder, image: image,
                                                           accelerator: accelerator, tag: tag).xml }
        return try BaselineCache.key(lab: lab, imageDigest: image.manifest.digest, accelerator: accelerator.rawValue,
                                     setupInputs: try lab.setupInputs(values), definitions: definitions, poolHost: poolHost)
    }

    /// The URI of this runner's host when its storage is a pool (baselines are volumes
    /// there, and restore only there); nil for a shared host.
    var poolHost: String? {
        guard case .pool = storage else { return nil }
        return host ?? (try? connection.uri())
    }

    /// A saved slot of `key` that no instance uses and whose names are free in libvirt.
    /// Call under the `baselines` lock, and insert the instance before releasing it.
    func freeBaseline(_ key: String, lab: LabSpec) throws -> BaselineCache.Entry? {
        let inUse = Set(try store.activeInstances().map(\.slot))
        for entry in BaselineCache(home: home).entries(key: key) where !inUse.contains(entry.slot) {
            let names = lab.vms.map { Naming.labDomain(lab: lab.name, instance: entry.slot, vm: $0.name) }
            if try names.allSatisfy({ try connection.lookupDomain(named: $0) == nil }) { return entry }
        }
        return nil
    }

    // MARK: save

    /// Saves the state of a freshly set-up instance as a baseline for later starts: every
    /// VM paused, saved (which stops it), its disks copied, restored and resumed together,
    /// so the guests see no gap between one another. Skipped when the key has its slots.
    func saveBaseline(_ session: LabSession, key: String) async throws {
        let cache = BaselineCache(home: home)
        let instance = session.instance
        guard cache.entries(key: key).count < cache.slotsPerKey,
              let lock = try OwnerLock.tryAcquire("baseline-\(instance.slot)", in: home.locks) else { return }
        defer { withExtendedLifetime(lock) {} }
        let started = ContinuousClock.now
        let lab = session.lab
        let staging = cache.stagingFolder(key: key, slot: instance.slot)
        let fm = FileManager.default
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        // Where each disk and state goes: files of the staging folder, or on a pool host
        // volumes named by the slot (the staging folder and its lock own them meanwhile).
        let onHost = volumes
        let homeTag = HostVolumes.homeTag(try home.identity())
        let layout: [String: SavedVM]
        do {
            layout = try Dictionary(uniqueKeysWithValues: lab.vms.map { vm in
                (vm.name, try savedVM(vm, instance: instance, staging: staging, onHost: onHost, homeTag: homeTag))
            })
        } catch {
            try? fm.removeItem(at: staging)
            if let onHost { _ = try? onHost.deleteBaseline(homeTag: homeTag, slot: instance.slot) }
            throw error
        }
        do {
            try await offPool {
                for vm in lab.vms { try session.domain(vm.name).suspend() }
                for vm in lab.vms {
                    let saved = layout[vm.name]!
                    try session.domain(vm.name).save(to: saved.state, paused: true)
                    for (index, disk) in saved.disks.enumerated() {
                        if let onHost {
                            _ = try onHost.copyVolume(saved.sources[index], to: disk.file)
                        } else {
                            try Subprocess.runBlocking(["cp", "--sparse=always", disk.original, staging.appendingPathComponent(disk.file).path])
                        }
                    }
                }
                for vm in lab.vms { try self.connection.restore(from: layout[vm.name]!.state, paused: true) }
                for vm in lab.vms { try session.domain(vm.name).resume() }
            }
        } catch {
            // The lab goes on whatever happened: each VM saved is brought back, each paused resumes.
            for vm in lab.vms {
                guard let domain = try? session.domain(vm.name) else { continue }
                if (try? domain.isActive()) == false { try? connection.restore(from: layout[vm.name]!.state, paused: false) }
                if (try? domain.state()) == .paused { try? domain.resume() }
            }
            try? fm.removeItem(at: staging)
            if let onHost { _ = try? onHost.deleteBaseline(homeTag: homeTag, slot: instance.slot) }
            throw error
        }
        try await session.forEachVM { vm, _ in try await session.agent(vm.name).waitUntilReady(timeout: self.bootTimeout) }
        let bytes = if let onHost {
            (try? onHost.physicalBytes(of: lab.vms.flatMap { vm in
                [HostVolumes.baselineState(home: homeTag, slot: instance.slot, vm: vm.name)] + layout[vm.name]!.disks.map(\.file)
            })) ?? 0
        } else {
            ((try? fm.subpathsOfDirectory(atPath: staging.path)) ?? []).reduce(Int64(0)) { total, name in
                total + (((try? fm.attributesOfItem(atPath: staging.appendingPathComponent(name).path))?[.size] as? Int64) ?? 0)
            }
        }
        try cache.commit(BaselineCache.Entry(key: key, slot: instance.slot, lab: lab.name, imageDigest: instance.imageDigest,
                                             disks: layout.mapValues(\.disks), createdAt: Date(), bytes: bytes, host: onHost == nil ? nil : poolHost))
        try cache.evict(store: store)
        progress(String(format: "\(lab.name): baseline saved for later starts (%.1f s, %d MiB)",
                        (ContinuousClock.now - started).seconds, Int(bytes >> 20)))
    }

    /// Where one VM's part of a baseline goes while it is saved.
    struct SavedVM: Sendable {
        /// The path the save writes: a file of the staging folder, or a volume's on the pool host.
        var state: String
        /// Root overlay first, then the extra disks in the lab's order.
        var disks: [BaselineCache.Entry.Disk]
        /// On a pool host, the instance's volumes whose bytes become `disks` (same order).
        var sources: [String]
    }

    /// A VM's `SavedVM`. On a pool host its state volume is created here, named by the slot.
    func savedVM(_ vm: VMSpec, instance: InstanceRecord, staging: URL, onHost: HostVolumes?, homeTag: String) throws -> SavedVM {
        let names: [String?] = [nil] + vm.disks.map(\.name)
        guard let onHost else {
            let dir = instanceDirectory(instance.id)
            return SavedVM(state: staging.appendingPathComponent("\(vm.name).state").path, disks: names.map { disk in
                let file = "\(vm.name)\(disk.map { "-\($0)" } ?? "").qcow2"
                return BaselineCache.Entry.Disk(original: dir.appendingPathComponent(file).path, file: file)
            }, sources: [])
        }
        let sources = names.map { HostVolumes.instanceVolume(home: homeTag, instance: instance.id, vm: vm.name, disk: $0) }
        let disks = try zip(names, sources).map { disk, source in
            BaselineCache.Entry.Disk(original: try onHost.volumePath(source),
                                     file: HostVolumes.baselineDisk(home: homeTag, slot: instance.slot, vm: vm.name, disk: disk))
        }
        let state = try onHost.createStateVolume(named: HostVolumes.baselineState(home: homeTag, slot: instance.slot, vm: vm.name))
        return SavedVM(state: state, disks: disks, sources: sources)
    }

    // MARK: restore

    /// The saved XML names each disk's backing chain as it was (overlay -> image; a data
    /// disk: none). The new overlays add the entry's copy to each chain, so the old chains
    /// must go and libvirt must read the chains from the qcow2 headers: told "no backing",
    /// QEMU would open a data disk's overlay alone and the guest would find its blocks zero.
    static func withoutBackingChains(_ xml: String) throws -> String {
        let document = try XMLDocument(xmlString: xml, options: [.nodePreserveAll])
        for case let element as XMLElement in try document.nodes(forXPath: "/domain/devices/disk/backingStore") {
            element.detach()
        }
        return document.rootElement()?.xmlString(options: [.nodePreserveAll]) ?? xml
    }

    /// Creates the instance's networks and, per VM, overlays on the entry's disks, then
    /// restores each VM paused from its saved state and resumes them together. The guests
    /// come back as they were after setup, addresses included; their clocks are set to now.
    /// On a pool host the states and disks are the entry's volumes there, and the overlays
    /// are volumes too.
    func restoreBaseline(_ entry: BaselineCache.Entry, lab: LabSpec, image: BuiltImage,
                         instance: InstanceRecord) async throws -> LabSession {
        let cache = BaselineCache(home: home)
        cache.touch(entry)
        let started = ContinuousClock.now
        let onHost = volumes
        // The entry's disks stand on the image's volume: present and whole, or uploaded again.
        if let onHost { _ = try await onHost.ensureImage(image, progress: progress) }
        let homeTag = HostVolumes.homeTag(try home.identity())
        try await offPool {
            let tag = try self.provisionNetworks(lab, instance: instance)
            let dir = self.instanceDirectory(instance.id)
            for vm in lab.vms {
                guard let saved = entry.disks[vm.name], saved.count == vm.disks.count + 1 else {
                    throw VMLabError(.notFound, "the saved baseline \(entry.key)/\(entry.slot) does not hold VM \(vm.name)'s disks")
                }
                let state = try onHost?.volumePath(HostVolumes.baselineState(home: homeTag, slot: entry.slot, vm: vm.name))
                    ?? cache.stateFile(entry, vm: vm.name).path
                var xml = try self.connection.savedStateXML(state)
                let names: [String?] = [nil] + vm.disks.map(\.name)
                for (index, disk) in saved.enumerated() {
                    let overlay: String
                    if let onHost {
                        overlay = HostVolumes.instanceVolume(home: homeTag, instance: instance.id, vm: vm.name, disk: names[index])
                        try self.store.record(.volume, overlay, owner: instance.owner)
                        let capacity = index == 0 ? try HostVolumes.qcow2VirtualSize(image.disk) : vm.disks[index - 1].sizeBytes
                        xml = xml.replacingOccurrences(of: disk.original, with: try onHost.createOverlay(
                            named: overlay, backing: try onHost.volumePath(disk.file), capacityBytes: capacity))
                    } else {
                        overlay = dir.appendingPathComponent(disk.file).path
                        try self.store.record(.file, overlay, owner: instance.owner)
                        try Overlay.create(URL(fileURLWithPath: overlay), backing: cache.diskFile(entry, disk))
                        xml = xml.replacingOccurrences(of: disk.original, with: overlay)
                    }
                }
                xml = xml.replacingOccurrences(of: #"<vmlab:owner\b[^>]*/>"#, with: tag.element.render(),
                                               options: .regularExpression)
                // The console is logged for this instance, not the saving one (gone by now): in
                // its folder, or on a pool host in a file of the pool's folder there.
                var log = Self.consoleLog(dir, vm: vm.name).path
                if let onHost {
                    let console = HostVolumes.consoleVolume(home: homeTag, instance: instance.id, vm: vm.name)
                    try self.store.record(.volume, console, owner: instance.owner)
                    log = try onHost.pathOnHost(console)
                }
                xml = xml.replacingOccurrences(of: #"<log file=['"][^'"]*['"]"#, with: "<log file='\(escapeMarkup(log))'",
                                               options: .regularExpression)
                xml = try Self.withoutBackingChains(xml)
                let name = Naming.labDomain(lab: lab.name, instance: instance.slot, vm: vm.name)
                try self.store.record(.domain, name, owner: instance.owner)
                try self.connection.restore(from: state, xml: xml, paused: true)
                // A restored domain is transient; defined, it is persistent like a cold start's.
                guard let domain = try self.connection.lookupDomain(named: name) else {
                    throw VMLabError(.failed, "\(name) is not in libvirt after its restore from \(state)")
                }
                _ = try self.connection.defineDomain(xml: try domain.xmlDescription(inactive: true))
            }
        }
        let session = try LabSession(lab: lab, instance: instance, runner: self)
        try await offPool { for vm in lab.vms { try session.domain(vm.name).resume() } }
        try await session.forEachVM { vm, _ in
            let agent = try session.agent(vm.name)
            try await agent.waitUntilReady(timeout: self.bootTimeout)
            // The guest's clock stopped when it was saved.
            let now = String(format: "%.3f", Date().timeIntervalSince1970)
            _ = try await agent.shell("date -u -s @\(now) >/dev/null", timeout: .seconds(30))
        }
        progress(String(format: "\(lab.name): restored from its saved baseline (%.1f s)", (ContinuousClock.now - started).seconds))
        return session
    }
}
