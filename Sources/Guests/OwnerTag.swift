import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import VMLabSupport

/// Who made a libvirt domain or network: the owner as the store records it (`lab:ID`,
/// `guest:NAME`) and the vmlab home it belongs to. Kept in the object's `<metadata>`, so
/// the object names its owner even when the store's records of it are lost, and `virsh
/// dumpxml` tells a person who made it.
public struct OwnerTag: Sendable, Equatable {
    public var owner: String
    /// `VMLabHome.identity()` of the home that made the object.
    public var home: String

    public init(owner: String, home: String) {
        self.owner = owner
        self.home = home
    }

    /// The XML namespace of the element; one for domains and networks alike.
    public static let namespace = "urn:vmlab:owner:1"

    /// `<vmlab:owner xmlns:vmlab="urn:vmlab:owner:1" owner="lab:1a2b3c4d" home="…"/>`, for
    /// a `<metadata>` element.
    package var element: XMLTree {
        XMLTree("vmlab:owner", ["xmlns:vmlab": Self.namespace, "owner": owner, "home": home])
    }

    /// The tag in an object's XML description (as libvirt returns it), or nil when the
    /// object has none (made by an older vmlab, or by someone else). Read with an XML
    /// parser, so quoting, entities and the namespace prefix are XML's, not guessed.
    public init?(describedIn xml: String) {
        guard let document = try? XMLDocument(xmlString: xml, options: []),
              let found = try? document.nodes(forXPath: "/*/metadata/*[local-name()='owner']"),
              let element = found.lazy.compactMap({ $0 as? XMLElement }).first(where: { $0.uri == Self.namespace }),
              let owner = element.attribute(forName: "owner")?.stringValue, !owner.isEmpty,
              let home = element.attribute(forName: "home")?.stringValue, !home.isEmpty else { return nil }
        self.init(owner: owner, home: home)
    }
}
