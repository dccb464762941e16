import Foundation
@testable import VMLabSupport
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Guards the one XML writer: layout, attribute order, and well-formed output (checked by a
/// real parser) whatever text goes in.
@Suite("XML writer")
struct XMLWriterTests {
    static let hostile = "a'b\"c<d>e&f\u{0}g\u{1}h\u{1B}i\tj\nk\r\nl\u{FFFE}m é ]]> --> <?x?>"
    /// What a parser gives back: forbidden characters are U+FFFD, everything else survives.
    static let hostileParsed = "a'b\"c<d>e&f\u{FFFD}g\u{FFFD}h\u{FFFD}i\tj\nk\r\nl\u{FFFD}m é ]]> --> <?x?>"

    func parse(_ xml: String) throws -> XMLElement {
        try #require(try XMLDocument(xmlString: xml, options: []).rootElement())
    }

    @Test func nestedElementsAreIndentedAndAttributesKeepTheirOrder() {
        let tree = XMLTree("root", ["z": "1", "a": "2", "m": "3"], children: [
            XMLTree("empty"),
            XMLTree("text", ["k": "v"], text: "hello"),
            XMLTree("group", children: [XMLTree("leaf", ["x": "y"])]),
        ])
        #expect(tree.render() == """
            <root z='1' a='2' m='3'>
              <empty/>
              <text k='v'>hello</text>
              <group>
                <leaf x='y'/>
              </group>
            </root>

            """)
        #expect(tree.render(indent: 4).contains("\n        <leaf x='y'/>\n"))
    }

    @Test func compactElementsKeepTheirChildrenOnOneLine() {
        let tree = XMLTree("outer", children: [
            XMLTree("features", children: [XMLTree("acpi"), XMLTree("apic")], compact: true),
        ])
        #expect(tree.render() == "<outer>\n  <features><acpi/><apic/></features>\n</outer>\n")
    }

    @Test func documentStartsWithTheDeclaration() throws {
        let xml = XMLTree("a", text: "b").document()
        #expect(xml == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>b</a>\n")
        #expect(try parse(xml).stringValue == "b")
    }

    @Test func emptyTextIsAnEmptyElementNotAMissingOne() throws {
        #expect(XMLTree("a", text: "").render() == "<a></a>\n")
        #expect(try parse(XMLTree("a", text: "").render()).stringValue == "")
    }

    @Test func hostileTextAndAttributesParseBack() throws {
        let tree = XMLTree("root", ["value": Self.hostile], children: [
            XMLTree("content", ["other": "'\"'"], text: Self.hostile),
            XMLTree("compact", children: [XMLTree("inner", text: Self.hostile)], compact: true),
        ])
        let root = try parse(tree.document())
        #expect(root.attribute(forName: "value")?.stringValue == Self.hostileParsed)
        let content = try #require(root.elements(forName: "content").first)
        #expect(content.stringValue == Self.hostileParsed)
        #expect(content.attribute(forName: "other")?.stringValue == "'\"'")
        #expect(root.elements(forName: "compact").first?.elements(forName: "inner").first?.stringValue == Self.hostileParsed)
    }

    @Test func markupEscapingForHTMLKeepsLineBreaks() {
        #expect(escapeMarkup("a\tb\nc\rd") == "a\tb\nc\rd")
        #expect(escapeMarkup("a\tb\nc\rd", whitespaceAsReferences: true) == "a&#9;b&#10;c&#13;d")
        #expect(escapeMarkup("<'&\">\u{7}") == "&lt;&#39;&amp;&quot;&gt;\u{FFFD}")
    }
}
