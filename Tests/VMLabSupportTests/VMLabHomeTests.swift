import Foundation
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards where vmlab keeps its state: VMLAB_HOME, then XDG_DATA_HOME, then HOME, and the paths below it.
@Suite("VMLabHome")
struct VMLabHomeTests {
    @Test func vmlabHomeWins() {
        let home = VMLabHome.fromEnvironment(["VMLAB_HOME": "/srv/lab", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"])
        #expect(home.root.path == "/srv/lab")
    }

    @Test func xdgDataHomeIsNext() {
        let home = VMLabHome.fromEnvironment(["XDG_DATA_HOME": "/xdg", "HOME": "/home/u"])
        #expect(home.root.path == "/xdg/vmlab")
    }

    @Test func homeIsTheFallback() {
        let home = VMLabHome.fromEnvironment(["HOME": "/home/u"])
        #expect(home.root.path == "/home/u/.local/share/vmlab")
    }

    @Test func emptyValuesAreIgnored() {
        let home = VMLabHome.fromEnvironment(["VMLAB_HOME": "", "XDG_DATA_HOME": "", "HOME": "/home/u"])
        #expect(home.root.path == "/home/u/.local/share/vmlab")
    }

    @Test func noVariablesUsesTheAccountHome() {
        let home = VMLabHome.fromEnvironment([:])
        #expect(home.root.path == NSHomeDirectory() + "/.local/share/vmlab")
    }

    @Test func pathsBelowTheRoot() {
        let home = VMLabHome(root: URL(fileURLWithPath: "/srv/lab", isDirectory: true))
        #expect(home.images.path == "/srv/lab/images")
        #expect(home.guests.path == "/srv/lab/guests")
        #expect(home.cache.path == "/srv/lab/cache")
        #expect(home.database.path == "/srv/lab/vmlab.sqlite")
    }

    @Test func ensureCreatesNestedDirectories() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let home = VMLabHome(root: tmp.path("a/b"))
        var isDirectory: ObjCBool = false
        #expect(!FileManager.default.fileExists(atPath: home.cache.path))
        let made = try home.ensure(home.cache)
        #expect(made == home.cache)
        #expect(FileManager.default.fileExists(atPath: home.cache.path, isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
        #expect(try home.ensure(home.cache) == home.cache)
    }
}
