internal import CLibvirt
import Foundation

/// A zeroed buffer of `virTypedParameter`s that libvirt fills in; cleared (string
/// values freed) and deallocated by `withTypedParameterBuffer`.
struct TypedParameterBuffer {
    let base: UnsafeMutablePointer<virTypedParameter>
    /// Number of valid entries; set it to what the filling call returned.
    var count: Int32

    /// The unsigned 64-bit value named `name`, or nil if absent.
    func uint64(_ name: String) throws -> UInt64? {
        var value: UInt64 = 0
        let found = try check(virTypedParamsGetULLong(base, count, name, &value), "virTypedParamsGetULLong")
        return found == 1 ? value : nil
    }

    /// The signed 64-bit value named `name`, or nil if absent.
    func int64(_ name: String) throws -> Int64? {
        var value: Int64 = 0
        let found = try check(virTypedParamsGetLLong(base, count, name, &value), "virTypedParamsGetLLong")
        return found == 1 ? value : nil
    }
}

/// Lends a buffer of `capacity` zeroed typed parameters to `body`, then frees it.
func withTypedParameterBuffer<R>(capacity: Int32, _ body: (inout TypedParameterBuffer) throws -> R) rethrows -> R {
    let size = Int(max(capacity, 1))
    let base = UnsafeMutablePointer<virTypedParameter>.allocate(capacity: size)
    base.initialize(repeating: virTypedParameter(), count: size)
    var buffer = TypedParameterBuffer(base: base, count: capacity)
    defer {
        virTypedParamsClear(base, max(capacity, 0))
        base.deallocate()
    }
    return try body(&buffer)
}

/// A typed-parameter list built up for a setter call (`virTypedParamsAdd*`).
final class TypedParameterList {
    private(set) var params: UnsafeMutablePointer<virTypedParameter>?
    private(set) var count: Int32 = 0
    private var capacity: Int32 = 0

    deinit { virTypedParamsFree(params, count) }

    var isEmpty: Bool { count == 0 }

    /// Appends an unsigned 64-bit value.
    func add(_ name: String, _ value: UInt64) throws {
        try check(virTypedParamsAddULLong(&params, &count, &capacity, name, value), "virTypedParamsAddULLong")
    }

    /// Appends a signed 64-bit value.
    func add(_ name: String, _ value: Int64) throws {
        try check(virTypedParamsAddLLong(&params, &count, &capacity, name, value), "virTypedParamsAddLLong")
    }
}

/// `VIR_DOMAIN_AFFECT_*` flags: neither `live` nor `config` means "current"
/// (live if the domain runs, else its persistent config).
func affectFlags(live: Bool, config: Bool) -> UInt32 {
    var flags = VIR_DOMAIN_AFFECT_CURRENT.rawValue
    if live { flags |= VIR_DOMAIN_AFFECT_LIVE.rawValue }
    if config { flags |= VIR_DOMAIN_AFFECT_CONFIG.rawValue }
    return flags
}
