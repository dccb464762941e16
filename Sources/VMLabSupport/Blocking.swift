import Foundation

/// Runs blocking work (a C call that waits on a guest, a child process) on a dispatch
/// thread, so the few threads of the cooperative pool that run every task are never held
/// up: a lab boots its VMs concurrently, and a test suite runs in parallel, only if
/// nobody sits on those threads.
public func offPool<T>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let box: UncheckedBox<T> = try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Swift.Result { UncheckedBox(value: try body()) })
        }
    }
    return box.value
}

/// Carries a value that is not Sendable (a JSON dictionary) from the thread that made it
/// to the one task that awaits it; nothing else holds a reference.
package struct UncheckedBox<T>: @unchecked Sendable {
    package let value: T
    package init(value: T) { self.value = value }
}
