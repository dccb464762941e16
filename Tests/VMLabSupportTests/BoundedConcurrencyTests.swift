import Foundation
import Synchronization
import Testing
@testable import VMLabSupport

/// Guards the batch runner of `grade --jobs` and `validate --jobs`: a bound on concurrency,
/// and results in input order however the work finishes.
@Suite("BoundedConcurrency")
struct BoundedConcurrencyTests {
    @Test(arguments: [1, 2, 3, 8])
    func resultsKeepTheInputOrderAndAtMostJobsRunAtOnce(jobs: Int) async {
        let running = Mutex(0), peak = Mutex(0), reports = Mutex<[Int]>([])
        let items = Array(0..<12)
        let results = await concurrentMap(items, jobs: jobs, finished: { _, _, done, _ in
            reports.withLock { $0.append(done) }
        }) { item in
            let now = running.withLock { $0 += 1; return $0 }
            peak.withLock { $0 = max($0, now) }
            // Later items finish first, so arrival order differs from input order.
            try? await Task.sleep(for: .milliseconds(5 * (12 - item)))
            running.withLock { $0 -= 1 }
            return item * 10
        }
        #expect(results == items.map { $0 * 10 })
        #expect(peak.withLock { $0 } <= jobs)
        #expect(reports.withLock { $0 } == Array(1...12))
    }

    @Test func estimatesTheRestFromTheAverageSoFar() {
        #expect(estimatedRemaining(elapsed: .seconds(60), done: 2, total: 6) == "ETA 2 min 0 s")
        #expect(estimatedRemaining(elapsed: .seconds(10), done: 1, total: 2) == "ETA 10 s")
        #expect(estimatedRemaining(elapsed: .seconds(10), done: 0, total: 2) == "ETA unknown")
    }
}
