import Foundation
@testable import Guests
@testable import LabModel
@testable import LabStore
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards how the accelerator is chosen: flag > VMLAB_ACCEL > config.yaml > auto, and errors naming their source.
@Suite("AcceleratorSetting")
struct AcceleratorSettingTests {
    /// A temp home, optionally with a config.yaml.
    func home(config: String? = nil) throws -> (VMLabHome, TempDir) {
        let tmp = try TempDir()
        if let config { try tmp.write("config.yaml", config) }
        return (VMLabHome(root: tmp.url), tmp)
    }

    @Test func nothingSetMeansAuto() throws {
        let (home, tmp) = try home()
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: nil, home: home, environment: [:]) == .auto)
    }

    @Test func flagBeatsEnvironmentAndConfig() throws {
        let (home, tmp) = try home(config: "accel: kvm\n")
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: "tcg", home: home, environment: ["VMLAB_ACCEL": "kvm"]) == .tcg)
    }

    @Test func environmentBeatsConfig() throws {
        let (home, tmp) = try home(config: "accel: kvm\n")
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: nil, home: home, environment: ["VMLAB_ACCEL": "tcg"]) == .tcg)
    }

    @Test func configBeatsAuto() throws {
        let (home, tmp) = try home(config: "# host settings\nother: 1\naccel:   tcg  \n")
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: nil, home: home, environment: [:]) == .tcg)
    }

    @Test func emptyEnvironmentValueFallsThroughToConfig() throws {
        let (home, tmp) = try home(config: "accel: kvm\n")
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: nil, home: home, environment: ["VMLAB_ACCEL": ""]) == .kvm)
    }

    @Test func configWithoutAccelIsAuto() throws {
        let (home, tmp) = try home(config: "something: else\n")
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: nil, home: home, environment: [:]) == .auto)
    }

    @Test(arguments: [("KVM", AcceleratorSetting.kvm), ("Tcg", .tcg), ("AUTO", .auto), ("auto", .auto)])
    func valuesAreCaseInsensitive(text: String, setting: AcceleratorSetting) throws {
        let (home, tmp) = try home()
        defer { tmp.remove() }
        #expect(try AcceleratorSetting.resolve(flag: text, home: home, environment: [:]) == setting)
    }

    @Test func invalidFlagNamesTheFlag() throws {
        let (home, tmp) = try home()
        defer { tmp.remove() }
        let error = #expect(throws: VMLabError.self) {
            _ = try AcceleratorSetting.resolve(flag: "hvf", home: home, environment: ["VMLAB_ACCEL": "tcg"])
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.hasPrefix("--accel:") == true)
        #expect(error?.message.contains("'hvf'") == true)
        #expect(error?.message.contains("auto, kvm, tcg") == true)
    }

    @Test func invalidEnvironmentNamesTheVariable() throws {
        let (home, tmp) = try home(config: "accel: tcg\n")
        defer { tmp.remove() }
        let error = #expect(throws: VMLabError.self) {
            _ = try AcceleratorSetting.resolve(flag: nil, home: home, environment: ["VMLAB_ACCEL": "xen"])
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.hasPrefix("VMLAB_ACCEL:") == true)
        #expect(error?.message.contains("'xen'") == true)
    }

    @Test func invalidConfigNamesTheFile() throws {
        let (home, tmp) = try home(config: "accel: fast\n")
        defer { tmp.remove() }
        let error = #expect(throws: VMLabError.self) {
            _ = try AcceleratorSetting.resolve(flag: nil, home: home, environment: [:])
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.hasPrefix(home.root.appendingPathComponent("config.yaml").path + ":") == true)
        #expect(error?.message.contains("'fast'") == true)
    }

    // config.yaml is YAML: a quoted scalar or a trailing comment is still the value `kvm`.
    @Test(arguments: ["accel: \"kvm\"\n", "accel: 'kvm'\n", "accel: kvm  # fast on bare metal\n"])
    func configIsReadAsYAML(config: String) throws {
        let (home, tmp) = try home(config: config)
        defer { tmp.remove() }
        let setting = try AcceleratorSetting.resolve(flag: nil, home: home, environment: [:])
        #expect(setting == .kvm)
    }

    // MARK: Accelerator

    @Test(arguments: [(Accelerator.kvm, "kvm"), (Accelerator.tcg, "qemu")])
    func domainType(accelerator: Accelerator, type: String) {
        #expect(accelerator.domainType == type)
    }

    // MARK: AcceleratorProbe without hardware

    @Test func tcgSettingNeedsNoProbe() async throws {
        let (home, tmp) = try home()
        defer { tmp.remove() }
        let verdict = try await AcceleratorProbe(home: home).choose(.tcg)
        #expect(verdict.accelerator == .tcg)
        #expect(verdict.hostKey == AcceleratorProbe.hostKey())
        #expect(!FileManager.default.fileExists(atPath: home.cache.appendingPathComponent("accelerator.json").path))
    }

    @Test func autoUsesACachedVerdictForThisHost() async throws {
        let (home, tmp) = try home()
        defer { tmp.remove() }
        let cached = AcceleratorVerdict(accelerator: .tcg, reason: "cached for the test", hostKey: AcceleratorProbe.hostKey(),
                                        probedAt: Date(timeIntervalSince1970: 1_700_000_000))
        try tmp.write("cache/accelerator.json", ImageStore.encoder.encode(cached))
        let probe = AcceleratorProbe(home: home)
        #expect(probe.cachedVerdict() == cached)
        let progress = Lines()
        let verdict = try await probe.choose(.auto, progress: { progress.append($0) })
        #expect(verdict == cached)
        #expect(progress.all.isEmpty)
    }

    @Test func noCachedVerdictWithoutAFile() throws {
        let (home, tmp) = try home()
        defer { tmp.remove() }
        #expect(AcceleratorProbe(home: home).cachedVerdict() == nil)
    }

    @Test func hostKeyNamesTheKernelRelease() throws {
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(AcceleratorProbe.hostKey().hasPrefix("kernel=\(release) kvm="))
    }
}

/// Collects progress lines from a @Sendable callback.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
