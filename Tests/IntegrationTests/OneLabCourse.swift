import Foundation

extension IntegrationEnvironment {
    /// A course folder of a suite's own, `vmlab-LAB-course-PID` under the temp dir: a copy of
    /// the repository's base image (recipe and files) and one lab, `lab`, whose lab.yaml is
    /// `yaml`. A folder left by an earlier run of the same process is replaced; the caller
    /// removes it when done.
    static func oneLabCourse(_ lab: String, yaml: String) throws -> URL {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("vmlab-\(lab)-course-\(getpid())")
        try? fm.removeItem(at: root)
        try fm.createDirectory(at: root.appendingPathComponent("Labs/\(lab)"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("Images"), withIntermediateDirectories: true)
        let images = repository.appendingPathComponent("Images")
        try fm.copyItem(at: images.appendingPathComponent("base.yaml"), to: root.appendingPathComponent("Images/base.yaml"))
        try fm.copyItem(at: images.appendingPathComponent("base"), to: root.appendingPathComponent("Images/base"))
        try yaml.write(to: root.appendingPathComponent("Labs/\(lab)/lab.yaml"), atomically: true, encoding: .utf8)
        return root
    }
}
