import ArgumentParser
import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `vmlab image build|list|rm`.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Build, list and remove guest images.",
        subcommands: [Build.self, List.self, Remove.self, Baselines.self])

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build an image from Images/NAME.yaml (a cache hit when nothing changed).")

        @Argument(help: "Recipe name (Images/NAME.yaml) or a path to a recipe file.")
        var recipe: String

        @Flag(help: "Rebuild even when an image with the same content digest exists.")
        var force = false

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let url = recipe.hasSuffix(".yaml")
                ? URL(fileURLWithPath: recipe)
                : try global.courseLayout().imageRecipe(recipe)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw VMLabError(.notFound, "no image recipe \(url.path)")
            }
            let parsed = try ImageRecipe.load(url)
            let (image, _) = try await ImageBuilder(home: global.home, progress: Output.reporter).build(parsed, force: force)
            Output.line("\(image.manifest.name) \(image.shortDigest) \(image.directory.path)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List built images, newest first.")

        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let images = ImageStore(home: VMLabHome.fromEnvironment()).all()
            switch format {
            case .json: try Output.json(images.map(\.manifest))
            case .table:
                Output.table(["NAME", "DIGEST", "DISK", "KERNEL", "PACKAGES", "BUILT"], images.map { i in
                    [i.manifest.name, i.shortDigest, mebibytes(i.manifest.diskBytes), i.manifest.kernelRelease,
                     "\(i.manifest.packages.count)", i.manifest.builtAt.formatted(.iso8601)]
                })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a built image (by name or digest prefix).")

        @Argument(help: "Image name (its newest build) or digest prefix.")
        var image: String

        func run() async throws {
            let home = VMLabHome.fromEnvironment()
            let store = ImageStore(home: home)
            let target = try store.resolve(image)
            let users = try Store(home: home).guests().filter { $0.imageDigest == target.manifest.digest }
            if !users.isEmpty {
                throw VMLabError(.invalidState, "image \(target.manifest.name) (\(target.shortDigest)) is the base of "
                    + users.map(\.name).joined(separator: ", ") + "; remove those first with `vmlab vm rm NAME`")
            }
            let labs = try Store(home: home).activeInstances().filter { $0.imageDigest == target.manifest.digest }
            if !labs.isEmpty {
                throw VMLabError(.invalidState, "image \(target.manifest.name) (\(target.shortDigest)) runs the labs "
                    + Set(labs.map(\.lab)).sorted().joined(separator: ", ") + "; stop those first with `vmlab lab stop LAB`")
            }
            let cache = BaselineCache(home: home)
            for entry in cache.entries() where entry.imageDigest == target.manifest.digest {
                try cache.remove(entry, store: Store(home: home))
                Output.progress("removed the saved baseline of \(entry.lab) (slot \(entry.slot))")
            }
            try store.remove(target)
            await removeFromPoolHosts(target, home: home)
            Output.line("removed \(target.manifest.name) \(target.shortDigest)")
        }

        /// The image's uploads on the pool hosts of the home's hosts.yaml (`storage: pool`),
        /// each host within 10 s: one that does not answer, or where a guest still runs on the
        /// image, keeps it, and says so.
        func removeFromPoolHosts(_ image: BuiltImage, home: VMLabHome) async {
            let file = home.root.appendingPathComponent(HostPoolSpec.fileName)
            guard FileManager.default.fileExists(atPath: file.path) else { return }
            let spec: HostPoolSpec
            do { spec = try HostPoolSpec.load(file) } catch {
                Output.warn("\(error); the image stays uploaded on the pool hosts")
                return
            }
            for host in spec.hosts {
                guard case .pool(let path) = host.storage else { continue }
                do {
                    let removal = try await HostVolumes.removeImage(digest: image.manifest.digest, from: host.uri, poolPath: path)
                    switch removal {
                    case .removed: Output.progress("removed its upload on host \(host.name)")
                    case .absent: break
                    case .inUse(let users):
                        Output.warn("host \(host.name) keeps the upload: \(users.joined(separator: ", ")) still run on it")
                    }
                } catch {
                    Output.warn("host \(host.name): \(error); its upload stays until `vmlab image rm` reaches it")
                }
            }
        }
    }

    struct Baselines: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the saved baselines labs start from (or remove them), most recently used first.",
            discussion: """
                A lab's first start saves its VMs right after setup; later starts (and grading replays) \
                restore them in seconds. `vmlab image rm` and `vmlab gc` remove those of removed images. \
                On a pool host (storage: pool) a baseline's states and disks are volumes of its pool; \
                "where" names that host.
                """)

        @Option(help: "Only this lab's.") var lab: String?
        @Flag(help: "Remove them (those an instance uses stay).") var remove = false

        func run() async throws {
            let home = VMLabHome.fromEnvironment()
            let cache = BaselineCache(home: home)
            let entries = cache.entries().filter { lab == nil || $0.lab == lab }
            if remove {
                let store = try Store(home: home)
                for entry in entries {
                    let gone = try cache.remove(entry, store: store)
                    Output.line("\(gone ? "removed" : "kept (in use)") \(entry.lab) \(entry.slot)")
                }
                return
            }
            Output.table(["lab", "slot", "image", "MiB", "where", "saved", "last used"], entries.map { e in
                [e.lab, e.slot, String(e.imageDigest.prefix(12)), "\(e.bytes >> 20)", e.host ?? "here", e.createdAt.formatted(.iso8601),
                 e.lastUsed?.formatted(.iso8601) ?? "-"]
            })
            Output.progress("\(entries.count) saved baselines, \(entries.reduce(0) { $0 + $1.bytes } >> 20) MiB "
                            + "(at most \(cache.maxBytes >> 30) GiB are kept)")
        }
    }
}
