import Foundation
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
    /// object has none (made by an older vmlab, or by someone else).
    public init?(describedIn xml: String) {
        guard let start = xml.range(of: "<vmlab:owner "),
              let end = xml[start.upperBound...].range(of: "/>") else { return nil }
        let attributes = Self.attributes(String(xml[start.upperBound..<end.lowerBound]))
        guard attributes["xmlns:vmlab"] == Self.namespace, let owner = attributes["owner"], let home = attributes["home"],
              !owner.isEmpty, !home.isEmpty else { return nil }
        self.init(owner: owner, home: home)
    }

    /// `name="value"` or `name='value'` pairs, with XML's entities decoded.
    static func attributes(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(text)
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].trimmingCharacters(in: .whitespacesAndNewlines)
            let afterEquals = rest[rest.index(after: equals)...].drop(while: { $0 == " " })
            guard let quote = afterEquals.first, quote == "\"" || quote == "'" else { break }
            let valueStart = afterEquals.index(after: afterEquals.startIndex)
            guard let valueEnd = afterEquals[valueStart...].firstIndex(of: quote) else { break }
            result[name] = decode(String(afterEquals[valueStart..<valueEnd]))
            rest = afterEquals[afterEquals.index(after: valueEnd)...]
        }
        return result
    }

    static func decode(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            guard let semicolon = rest[amp...].prefix(12).firstIndex(of: ";") else {
                result += rest[amp...]
                return result
            }
            let entity = rest[rest.index(after: amp)..<semicolon]
            let named: [Substring: String] = ["lt": "<", "gt": ">", "quot": "\"", "apos": "'", "amp": "&"]
            if let value = named[entity] {
                result += value
            } else if entity.hasPrefix("#"), let code = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                        : UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                result.unicodeScalars.append(scalar)
            } else {
                result += rest[amp...semicolon]
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }
}
