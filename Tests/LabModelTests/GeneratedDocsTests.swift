import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// The lab schema and the step reference are generated from the registered kinds; the
/// committed copies must be what vmlab generates today.
struct GeneratedDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func committed(_ path: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func committedSchemaIsGenerated() throws {
        #expect(try committed("docs/lab.schema.json") == LabSchema.document().rendered(),
                "docs/lab.schema.json is stale: run `make docs` (vmlab lab schema > docs/lab.schema.json)")
    }

    @Test func committedReferenceIsGenerated() throws {
        let guide = try committed("docs/lab-authoring.md")
        #expect(try LabReference.updating(guide) == guide,
                "the step reference in docs/lab-authoring.md is stale: run `make docs`")
    }

    @Test func schemaListsEveryKindOnceInRegistryOrder() throws {
        let data = Data(LabSchema.document().rendered().utf8)
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let defs = try #require(schema["$defs"] as? [String: Any])
        let step = try #require(defs["step"] as? [String: Any])
        let kinds = try #require(step["oneOf"] as? [[String: Any]]).compactMap { ($0["required"] as? [String])?.first }
        #expect(kinds == Step.kindNames)
        #expect(Set(kinds).count == kinds.count)
        // Every $ref points at a definition that exists.
        let text = String(decoding: data, as: UTF8.self)
        let refs = Set(text.components(separatedBy: "\"#/$defs/").dropFirst().map { $0.prefix { $0 != "\"" } })
        for ref in refs { #expect(defs[String(ref)] != nil, "dangling $ref \(ref)") }
        // Exactly one measure source has no selector, and it is tried last.
        #expect(MeasureStep.sources.filter { $0.selector == nil }.count == 1)
        #expect(MeasureStep.sources.last?.selector == nil)
    }

    @Test func referenceHasARowPerKindAndSource() {
        let reference = LabReference.markdown()
        for kind in Step.kinds { #expect(reference.contains("| `\(kind.key)` |")) }
        for source in MeasureStep.sources where source.selector != nil {
            #expect(reference.contains("| `\(source.selector!)` |"))
        }
    }

    @Test func jsonRenderingEscapesAndKeepsOrder() {
        let value: JSONValue = ["z": "a\"b\\c\n\u{1}", "a": [1, 2.5, true, [:], []]]
        #expect(value.rendered() == """
        {
          "z": "a\\"b\\\\c\\n\\u0001",
          "a": [
            1,
            2.5,
            true,
            {},
            []
          ]
        }

        """)
    }
}
