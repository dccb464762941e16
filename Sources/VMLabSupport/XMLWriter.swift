import Foundation

/// The one XML writer: libvirt domain and network definitions and JUnit reports are built as
/// `XMLTree` values and rendered here, so escaping happens in exactly one place and the
/// output is well-formed whatever text goes in.
///
/// vmlab parses the XML libvirt hands back with FoundationXML's `XMLDocument` (owner tags,
/// volume descriptions, a domain's interfaces), but writes its own definitions here rather
/// than with `XMLElement`: the attribute order and the escaping are vmlab's own, so the same
/// definition always renders to the same bytes. That matters beyond tests: a saved
/// baseline's key hashes the domain XML, and output that moved with libxml2's choices would
/// miss the cache.
package struct XMLTree: Sendable, Equatable {
    struct Attribute: Sendable, Equatable {
        var name: String
        var value: String
    }

    var name: String
    /// Rendered in this order.
    var attributes: [Attribute]
    /// Character content. An element carries text or children, not both: mixed content
    /// would have its text changed by the indentation.
    var text: String?
    var children: [XMLTree]
    /// Children on the element's own line with no whitespace between them, for short
    /// groups like `<features><acpi/></features>` that read better whole.
    var compact: Bool

    /// `XMLTree("disk", ["type": "file"], children: [...])`; attributes keep the order written.
    package init(_ name: String, _ attributes: KeyValuePairs<String, String> = [:], text: String? = nil,
         children: [XMLTree] = [], compact: Bool = false) {
        precondition(text == nil || children.isEmpty, "XML element <\(name)> given both text and children")
        precondition(Self.isName(name), "'\(name)' is not an XML element name")
        for (attribute, _) in attributes {
            precondition(Self.isName(attribute), "'\(attribute)' is not an XML attribute name")
        }
        self.name = name
        self.attributes = attributes.map { Attribute(name: $0.key, value: $0.value) }
        self.text = text
        self.children = children
        self.compact = compact
    }

    /// The element as a document: the XML declaration, then the element.
    package func document(indent: Int = 2) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + render(indent: indent)
    }

    /// The element and its descendants, each child on its own line `indent` spaces deeper
    /// than its parent (unless `compact`), ending with a newline. Attribute values are in
    /// single quotes, as libvirt writes them (the escaper handles both kinds).
    package func render(indent: Int = 2) -> String {
        var out = ""
        render(into: &out, depth: 0, indent: indent)
        return out
    }

    private func render(into out: inout String, depth: Int, indent: Int) {
        let pad = String(repeating: " ", count: depth * indent)
        out += pad
        renderLine(into: &out, depth: depth, indent: indent)
        out += "\n"
    }

    /// The element without leading indentation or trailing newline.
    private func renderLine(into out: inout String, depth: Int, indent: Int) {
        out += "<" + name
        for attribute in attributes {
            out += " \(attribute.name)='\(escapeMarkup(attribute.value, whitespaceAsReferences: true))'"
        }
        if let text {
            out += ">" + escapeMarkup(text, whitespaceAsReferences: true) + "</\(name)>"
        } else if children.isEmpty {
            out += "/>"
        } else if compact {
            out += ">"
            for child in children { child.renderLine(into: &out, depth: depth, indent: indent) }
            out += "</\(name)>"
        } else {
            out += ">\n"
            for child in children { child.render(into: &out, depth: depth + 1, indent: indent) }
            out += String(repeating: " ", count: depth * indent) + "</\(name)>"
        }
    }

    /// Names are written by the programmer, never from input: a cheap guard, not a full XML
    /// name check (letters, digits, `-`, `_`, `.`, and `:` for a namespace prefix).
    private static func isName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0) }
    }
}

/// The one markup escaper, for HTML and XML alike (content and quoted attributes): markup
/// characters become entities, and characters XML 1.0 forbids become U+FFFD so the page
/// always parses. With `whitespaceAsReferences`, tab, LF and CR become character
/// references too, so they survive a parser's attribute-value and line-end normalization
/// (the XML writer's use); HTML keeps them literal, as `<pre>` text wants.
package func escapeMarkup(_ text: String, whitespaceAsReferences: Bool = false) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\t", "\n", "\r":
            if whitespaceAsReferences {
                out += "&#\(scalar.value);"
            } else {
                out.unicodeScalars.append(scalar)
            }
        default:
            if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                out += "\u{FFFD}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}
