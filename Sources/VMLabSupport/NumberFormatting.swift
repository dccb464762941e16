import Foundation

/// `30` rather than `30.0`, for messages.
public func formatNumber(_ n: Double) -> String {
    n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
}

/// `x` rounded to `decimals` decimal places.
public func roundTo(_ x: Double, decimals: Int) -> Double {
    let scale = pow(10, Double(decimals))
    return (x * scale).rounded() / scale
}

/// A number for people: at most 4 decimals, no trailing `.0`.
public func shortNumber(_ x: Double) -> String {
    guard x.isFinite else { return String(x) }
    return formatNumber(roundTo(x, decimals: 4))
}
