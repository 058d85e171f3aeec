/// Why a buffer could not be decoded as XDR.
///
/// Decoding errors are values, not crashes: every decoder in p2pfs reads bytes
/// that a stranger sent, and the RPC layer turns these into GARBAGE_ARGS.
public enum XDRError: Error, Equatable, Sendable {
    /// The buffer ended before the value did.
    case truncated(needed: Int, available: Int)
    /// A variable-length item claimed more bytes than its declared maximum.
    case lengthLimitExceeded(length: UInt32, limit: Int)
    /// A `bool` was neither 0 nor 1.
    case invalidBool(UInt32)
    /// An `enum` or union discriminant had a value the type does not define.
    case invalidDiscriminant(type: String, value: UInt32)
    /// A string's bytes were not valid UTF-8.
    case invalidUTF8
}
