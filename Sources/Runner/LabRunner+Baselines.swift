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
                                     setupInputs: try lab.setupInputs(values), definitions: definitions)
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
        let dir = instanceDirectory(instance.id)
        let disks: [String: [BaselineCache.Entry.Disk]] = Dictionary(uniqueKeysWithValues: lab.vms.map { vm in
            let files = ["\(vm.name).qcow2"] + vm.disks.map { "\(vm.name)-\($0.name).qcow2" }
            return (vm.name, files.map { BaselineCache.Entry.Disk(original: dir.appendingPathComponent($0).path, file: $0) })
        })
        let states = Dictionary(uniqueKeysWithValues: lab.vms.map { ($0.name, staging.appendingPathComponent("\($0.name).state").path) })
        do {
            try await offPool {
                for vm in lab.vms { try session.domain(vm.name).suspend() }
                for vm in lab.vms {
                    try session.domain(vm.name).save(to: states[vm.name]!, paused: true)
                    for disk in disks[vm.name]! {
                        try Subprocess.runBlocking(["cp", "--sparse=always", disk.original, staging.appendingPathComponent(disk.file).path])
                    }
                }
                for vm in lab.vms { try self.connection.restore(from: states[vm.name]!, paused: true) }
                for vm in lab.vms { try session.domain(vm.name).resume() }
            }
        } catch {
            // The lab goes on whatever happened: each VM saved is brought back, each paused resumes.
            for vm in lab.vms {
                guard let domain = try? session.domain(vm.name) else { continue }
                if (try? domain.isActive()) == false { try? connection.restore(from: states[vm.name]!, paused: false) }
                if (try? domain.state()) == .paused { try? domain.resume() }
            }
            try? fm.removeItem(at: staging)
            throw error
        }
        try await session.forEachVM { vm, _ in try await session.agent(vm.name).waitUntilReady(timeout: self.bootTimeout) }
        let bytes = ((try? fm.subpathsOfDirectory(atPath: staging.path)) ?? []).reduce(Int64(0)) { total, name in
            total + (((try? fm.attributesOfItem(atPath: staging.appendingPathComponent(name).path))?[.size] as? Int64) ?? 0)
        }
        try cache.commit(BaselineCache.Entry(key: key, slot: instance.slot, lab: lab.name, imageDigest: instance.imageDigest,
                                             disks: disks, createdAt: Date(), bytes: bytes))
        try cache.evict(store: store)
        progress(String(format: "\(lab.name): baseline saved for later starts (%.1f s, %d MiB)",
                        (ContinuousClock.now - started).seconds, Int(bytes >> 20)))
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
    func restoreBaseline(_ entry: BaselineCache.Entry, lab: LabSpec, instance: InstanceRecord) async throws -> LabSession {
        let cache = BaselineCache(home: home)
        cache.touch(entry)
        let started = ContinuousClock.now
        try await offPool {
            let tag = try self.provisionNetworks(lab, instance: instance)
            let dir = self.instanceDirectory(instance.id)
            for vm in lab.vms {
                guard let saved = entry.disks[vm.name] else {
                    throw VMLabError(.notFound, "the saved baseline \(entry.key)/\(entry.slot) has no VM \(vm.name)")
                }
                let state = cache.stateFile(entry, vm: vm.name).path
                var xml = try self.connection.savedStateXML(state)
                for disk in saved {
                    let overlay = dir.appendingPathComponent(disk.file)
                    try self.store.record(.file, overlay.path, owner: instance.owner)
                    try Overlay.create(overlay, backing: cache.diskFile(entry, disk))
                    xml = xml.replacingOccurrences(of: disk.original, with: overlay.path)
                }
                xml = xml.replacingOccurrences(of: #"<vmlab:owner\b[^>]*/>"#, with: tag.element.render(),
                                               options: .regularExpression)
                // The console is logged in this instance's folder, not the saving one's (gone by now).
                xml = xml.replacingOccurrences(of: #"<log file=['"][^'"]*['"]"#,
                                               with: "<log file='\(escapeMarkup(Self.consoleLog(dir, vm: vm.name).path))'",
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
