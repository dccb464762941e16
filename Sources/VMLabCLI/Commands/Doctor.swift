import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab doctor`: can this host run labs, and if not, what to do.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this host can run labs; exits non-zero when it cannot.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Skip the libguestfs launch check (it boots an appliance, ~10 s under TCG).")
    var quick = false

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        var doctor = Guests.Doctor(home: global.home, uri: LibvirtHost.uri(flag: global.connectURI),
                                   accelerator: try AcceleratorSetting.resolve(flag: global.accel, home: global.home))
        doctor.checkGuestfs = !quick
        let checks = await doctor.run { check in
            if check.status != .ok { Output.progress("\(check.name): \(check.status.rawValue)") }
        }
        switch format {
        case .json: try Output.json(checks)
        case .table:
            for check in checks {
                let mark = switch check.status { case .ok: "ok  "; case .warn: "warn"; case .fail: "FAIL" }
                Output.line("[\(mark)] \(check.name): \(check.detail)")
                if let fix = check.fix { Output.line("       -> \(fix)") }
            }
        }
        if checks.contains(where: { $0.status == .fail }) {
            throw VMLabError(.unavailable, "this host cannot run labs yet; fix the FAIL items above")
        }
    }
}
