import Foundation

/// `body` over `items` with at most `jobs` running at once; the results come back in the
/// order of `items`, whatever order the work finished in, so a batch reads the same
/// however many jobs ran it. `finished` is told of each result as it arrives (done count,
/// total), for a progress line.
public func concurrentMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], jobs: Int,
    finished: @escaping @Sendable (_ index: Int, _ result: Result, _ done: Int, _ total: Int) -> Void = { _, _, _, _ in },
    _ body: @escaping @Sendable (Item) async -> Result
) async -> [Result] {
    let width = max(1, min(jobs, items.count))
    return await withTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: items.count)
        var next = 0
        var done = 0
        for _ in 0..<width {
            let index = next
            group.addTask { (index, await body(items[index])) }
            next += 1
        }
        while let (index, result) = await group.next() {
            results[index] = result
            done += 1
            finished(index, result, done, items.count)
            if next < items.count {
                let index = next
                group.addTask { (index, await body(items[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// "ETA 3 min 10 s" from the time so far and the share done.
public func estimatedRemaining(elapsed: Duration, done: Int, total: Int) -> String {
    guard done > 0, done < total else { return done >= total ? "done" : "ETA unknown" }
    let left = Int((elapsed.seconds / Double(done) * Double(total - done)).rounded())
    return left >= 60 ? "ETA \(left / 60) min \(left % 60) s" : "ETA \(left) s"
}
