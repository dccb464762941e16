import Testing
@testable import VMLabSupport

/// Guards how errors read: the cause is appended once, spec errors are `file:line: field: message`.
@Suite("VMLabError")
struct VMLabErrorTests {
    struct Low: Error, CustomStringConvertible {
        var description: String { "virDomainCreate: permission denied" }
    }

    @Test func descriptionIncludesTheCause() {
        let error = VMLabError(.unavailable, "cannot reach libvirt", cause: Low())
        #expect(error.code == .unavailable)
        #expect(error.message == "cannot reach libvirt")
        #expect(error.cause == "virDomainCreate: permission denied")
        #expect(error.description == "cannot reach libvirt\n  cause: virDomainCreate: permission denied")
    }

    @Test func withoutCauseTheDescriptionIsTheMessage() {
        #expect(VMLabError(.notFound, "no guest named 'web'").description == "no guest named 'web'")
    }

    @Test func causeAlreadyInTheMessageIsNotRepeated() {
        let error = VMLabError(.failed, "start failed: virDomainCreate: permission denied", cause: Low())
        #expect(error.description == "start failed: virDomainCreate: permission denied")
    }

    @Test func emptyCauseIsOmitted() {
        let error = VMLabError(.failed, "tool failed", cause: VMLabError(.failed, ""))
        #expect(error.description == "tool failed")
    }

    @Test func nestedCauseKeepsItsOwnCause() {
        let inner = VMLabError(.failed, "qemu-img exited with status 1", cause: Low())
        let outer = VMLabError(.failed, "could not create guest 'web'", cause: inner)
        #expect(outer.description.hasPrefix("could not create guest 'web'\n  cause: qemu-img exited with status 1"))
        #expect(outer.description.contains("permission denied"))
    }

    @Test(arguments: [
        (SpecError(file: "a.yaml", line: 3, field: "size", message: "bad"), "a.yaml:3: size: bad"),
        (SpecError(file: "a.yaml", line: nil, field: "size", message: "bad"), "a.yaml: size: bad"),
        (SpecError(file: "a.yaml", line: 1, field: "", message: "bad"), "a.yaml:1: bad"),
        (SpecError(file: "a.yaml", line: nil, field: "", message: "bad"), "a.yaml: bad"),
    ])
    func specErrorDescription(error: SpecError, text: String) {
        #expect(error.description == text)
    }

    @Test func specErrorsAreOneLineEach() {
        let errors = SpecErrors(errors: [
            SpecError(file: "a.yaml", line: 1, field: "name", message: "is required"),
            SpecError(file: "a.yaml", line: 4, field: "size", message: "bad"),
        ])
        #expect(errors.description == "a.yaml:1: name: is required\na.yaml:4: size: bad")
    }
}
