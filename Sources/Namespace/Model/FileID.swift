/// The identity of a namespace path: the NFS fileid and the heart of a file
/// handle.
///
/// Derived from the path alone (a fixed 64-bit hash), never from a counter,
/// so a kernel client that stays mounted while the daemon restarts, or while
/// peers come and go, finds the same file under the same handle.
public struct FileID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Values below this are READDIR cookies with fixed meanings (start, ".",
    /// ".."), so no path hashes to them.
    public static let firstAssignable: UInt64 = 3

    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The fileid of a namespace path ("" is the root, "movies/KillBill" a file).
    public init(path: some StringProtocol) {
        self.init(path: path, salt: 0)
    }

    /// A salted variant, used only to step around a hash collision.
    public init(path: some StringProtocol, salt: UInt64) {
        self.init(utf8: path.utf8, salt: salt)
    }

    /// The fileid of a path given as UTF-8 bytes.
    public init(utf8 bytes: some Sequence<UInt8>, salt: UInt64 = 0) {
        // FNV-1a over the UTF-8 bytes, then a 64-bit finalizer for avalanche.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ (salt &* 0x9E37_79B9_7F4A_7C15)
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        hash ^= hash >> 33
        hash &*= 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        hash &*= 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 33
        if hash < Self.firstAssignable {
            hash &+= Self.firstAssignable
        }
        self.rawValue = hash
    }

    public static let root = FileID(path: "")

    public static func < (lhs: FileID, rhs: FileID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String {
        "0x" + String(self.rawValue, radix: 16)
    }
}
