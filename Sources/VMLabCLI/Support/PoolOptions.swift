import ArgumentParser
import Foundation
import Guests
import LabModel

/// `--hosts FILE`, for the commands that spread guests over a host pool (grade, validate,
/// hosts). Every other command works on the one host of `--connect`.
struct PoolOptions: ParsableArguments {
    @Option(help: "Host pool file (libvirt URIs with limits; see `vmlab hosts --help`). Default: $VMLAB_HOME/hosts.yaml if it exists and --connect is not given; without one, every guest runs on the --connect host.")
    var hosts: String?

    /// The pool file in use: `--hosts`, else the home's hosts.yaml unless `--connect` names
    /// one host; nil means one host, as without a pool.
    func file(_ global: GlobalOptions) -> URL? {
        if let hosts, !hosts.isEmpty { return URL(fileURLWithPath: hosts) }
        if global.connectURI?.isEmpty == false { return nil }
        let file = global.home.root.appendingPathComponent(HostPoolSpec.fileName)
        return FileManager.default.fileExists(atPath: file.path) ? file : nil
    }

    /// The host pool of `file`, or nil for one host.
    func pool(_ global: GlobalOptions) throws -> HostPool? {
        try file(global).map { HostPool(spec: try HostPoolSpec.load($0)) }
    }
}
