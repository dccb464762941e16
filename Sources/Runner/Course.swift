import Foundation
import Guests
import LabModel
import LabStore
import VMLabSupport

/// A course on this host: its labs by name, the images they boot, the accelerator guests
/// use, and the runner. Starting a lab is one call here, so a command (or a test) does not
/// assemble it from the catalog, the image builder, the KVM probe and the runner itself.
public struct Course: Sendable {
    public let catalog: LabCatalog
    public let runner: LabRunner
    public let accelerator: AcceleratorSetting

    public init(layout: CourseLayout, runner: LabRunner, accelerator: AcceleratorSetting) {
        self.catalog = LabCatalog(layout: layout)
        self.runner = runner
        self.accelerator = accelerator
    }

    public var layout: CourseLayout { catalog.layout }

    /// Loads and validates lab `name`.
    public func lab(_ name: String) throws -> LabSpec { try catalog.load(name) }

    /// The image `lab` boots: built from the course's recipe, or found in the cache.
    public func image(for lab: LabSpec) async throws -> BuiltImage {
        let recipe = try ImageRecipe.load(layout.imageRecipe(lab.image))
        return try await ImageBuilder(home: runner.home, progress: runner.progress).build(recipe).image
    }

    /// The accelerator guests run under (KVM proven by a probe guest, else TCG).
    public func chosenAccelerator() async throws -> Accelerator {
        try await AcceleratorProbe(home: runner.home).choose(accelerator, progress: runner.progress).accelerator
    }

    /// A started lab and the per-student values it runs with.
    public struct Started: Sendable {
        public let lab: LabSpec
        public let instance: InstanceRecord
        public let studentValues: [String: String]
    }

    /// Starts lab `name`: for the student when given, with the per-student values derived
    /// from their key (or from the course secret); else with every parameter at its default.
    /// `workspace` is the student's folder: VMs with `boot:` boot its files, and the instance
    /// remembers it for later runs and the submission.
    public func start(_ name: String, for identity: StudentIdentity? = nil, workspace: URL? = nil) async throws -> Started {
        let lab = try lab(name)
        var values: [String: String] = [:]
        if let identity {
            if let problem = studentIDProblem(identity.student) { throw VMLabError(.invalidInput, problem) }
            values = identity.key.values(for: lab)
        }
        let image = try await image(for: lab)
        let accelerator = try await chosenAccelerator()
        // Boot files are read from the folder by `BootFiles` itself (bounded, checked); the
        // rest of the workspace is read when a step copies it.
        let folder = lab.workspace == nil ? nil : workspace.map { Workspace(files: [:], directory: $0) }
        let instance = try await runner.start(lab, image: image, accelerator: accelerator, student: identity?.student,
                                              fixedParameters: values, workspace: folder)
        return Started(lab: lab, instance: instance, studentValues: values)
    }
}
