internal import CLibvirt
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension Domain {
    /// Sets the link of one of the running domain's network interfaces up or down
    /// (cable plugged / unplugged), e.g. to cut a guest off in a network experiment.
    ///
    /// How: like `virsh domif-setlink`, it takes the interface's `<interface>` element
    /// from the live XML (matched by `target` device, e.g. `vnet3`, and/or by `mac`), sets its `<link state=.../>`, and sends it back with
    /// `virDomainUpdateDeviceFlags(VIR_DOMAIN_AFFECT_LIVE)`. Only the live domain
    /// changes; the persistent config keeps its link state.
    public func setInterfaceLinkState(mac: String? = nil, target: String? = nil, up: Bool) throws {
        let xml = try Self.linkStateUpdateXML(domainXML: try xmlDescription(), mac: mac, target: target, up: up)
        try check(virDomainUpdateDeviceFlags(handle, xml, VIR_DOMAIN_AFFECT_LIVE.rawValue),
                  "virDomainUpdateDeviceFlags")
    }

    /// The `<interface>` element `setInterfaceLinkState` would send: the interface of
    /// `domainXML` whose `<target dev>` is `target` (and `<mac address>` is `mac`, if
    /// given, case-insensitively) with its link state set. Public for dry runs and tests.
    public static func linkStateUpdateXML(domainXML: String, mac: String? = nil, target: String? = nil, up: Bool) throws -> String {
        let document: XMLDocument
        do {
            document = try XMLDocument(xmlString: domainXML, options: [])
        } catch {
            throw LibvirtError.local(VIR_ERR_XML_ERROR, "cannot parse domain XML: \(error)")
        }
        let interfaces = (try? document.nodes(forXPath: "/domain/devices/interface")) ?? []
        for case let interface as XMLElement in interfaces {
            let dev = interface.elements(forName: "target").first?.attribute(forName: "dev")?.stringValue
            if let target, dev != target { continue }
            if let mac {
                let address = interface.elements(forName: "mac").first?.attribute(forName: "address")?.stringValue
                guard address?.lowercased() == mac.lowercased() else { continue }
            }
            let link = interface.elements(forName: "link").first ?? {
                let element = XMLElement(name: "link")
                interface.addChild(element)
                return element
            }()
            link.attributes = [XMLNode.attribute(withName: "state", stringValue: up ? "up" : "down") as! XMLNode]
            return interface.xmlString
        }
        let which = [target.map { "target '\($0)'" }, mac.map { "MAC \($0)" }].compactMap { $0 }.joined(separator: " and ")
        throw LibvirtError.local(VIR_ERR_INVALID_ARG, "the domain has no network interface with \(which)")
    }
}
