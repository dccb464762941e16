import Foundation

/// Runs seconds of CPU-bound test work on a dispatch thread. Tests share Swift's cooperative
/// pool, which has one thread per core: on a two-core machine two such tests at once leave
/// no thread for the async tests beside them, whose short sleeps then take seconds.
/// Expectations stay in the test: `body` returns what the test checks.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
