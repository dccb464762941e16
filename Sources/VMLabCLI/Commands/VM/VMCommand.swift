import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab vm create|start|stop|destroy|rm|list`: stand-alone guests.
struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "Create, start, stop and remove stand-alone guests.",
        subcommands: [Create.self, Start.self, Stop.self, Destroy.self, Remove.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a guest (an overlay on an image) and start it.")

        @Argument(help: "Guest name: lowercase letters, digits, dashes.")
        var name: String

        @Option(help: "Image name or digest prefix (build it with `vmlab image build NAME`).")
        var image: String = "base"

        @Option(help: "Memory in MiB.")
        var memory: Int = 512

        @Option(help: "Virtual CPUs.")
        var vcpus: Int = 1

        @Flag(help: "Only define the guest; do not start it.")
        var noStart = false

        @Option(help: "Seconds to wait for the guest agent after boot.")
        var bootTimeout: Int = 180

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let built = try ImageStore(home: global.home).resolve(image)
            let accelerator = try await global.accelerator()
            var guests = try global.guests()
            guests.bootTimeout = .seconds(bootTimeout)
            try guests.create(name: name, image: built, accelerator: accelerator, memoryMiB: memory, vcpus: vcpus)
            Output.progress("\(name): created on \(built.manifest.name) \(built.shortDigest) (\(accelerator.rawValue))")
            if !noStart { try await guests.start(name) }
            Output.line(name)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a guest and wait for its agent.")
        @Argument var name: String
        @Option(help: "Seconds to wait for the guest agent.") var bootTimeout: Int = 180
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            var guests = try global.guests()
            guests.bootTimeout = .seconds(bootTimeout)
            try await guests.start(name)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Power a guest off cleanly (forced after a timeout).")
        @Argument var name: String
        @Option(help: "Seconds to wait before forcing it off.") var timeout: Int = 30
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.guests().stop(name, timeout: .seconds(timeout))
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pull the plug: stop a guest at once, without flushing (a forced crash).")
        @Argument var name: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try global.guests().destroy(name)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a guest: its domain, snapshots and disk.")
        @Argument var names: [String]
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let guests = try global.guests()
            for name in names {
                try guests.remove(name)
                Output.line("removed \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List guests and their state.")
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table
        @OptionGroup var global: GlobalOptions

        struct Row: Encodable {
            let name, state, image, domain, disk: String
            let memoryMiB, vcpus: Int?
            let snapshots: [String]
        }

        func run() async throws {
            let rows = try global.guests().list().map { s in
                Row(name: s.record.name, state: s.state, image: "\(s.record.imageName)@\(s.record.imageDigest.prefix(12))",
                    domain: s.record.domain, disk: s.record.disk, memoryMiB: s.memoryMiB, vcpus: s.vcpus, snapshots: s.snapshots)
            }
            switch format {
            case .json: try Output.json(rows)
            case .table:
                Output.table(["NAME", "STATE", "IMAGE", "MEMORY", "VCPUS", "SNAPSHOTS"], rows.map { r in
                    [r.name, r.state, r.image, r.memoryMiB.map { "\($0) MiB" } ?? "-", r.vcpus.map(String.init) ?? "-",
                     r.snapshots.joined(separator: ",")]
                })
            }
        }
    }
}
