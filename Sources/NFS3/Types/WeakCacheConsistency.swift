import NIOCore
import XDR

/// `wcc_attr`: the attributes a client compares with its cache before an operation.
public struct WeakCacheAttributes3: Hashable, Sendable {
    public var size: UInt64
    public var mtime: NFSTime3
    public var ctime: NFSTime3

    public init(size: UInt64, mtime: NFSTime3, ctime: NFSTime3) {
        self.size = size
        self.mtime = mtime
        self.ctime = ctime
    }
}

extension WeakCacheAttributes3: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.size) + self.mtime.encode(into: &buffer) + self.ctime.encode(into: &buffer)
    }
}

/// `wcc_data`: an object's attributes before and after a modifying call.
///
/// Every modifying call fails with NFS3ERR_ROFS here, and nothing changes:
/// "before" and "after" describe the same state, so the client learns its
/// cache is still valid.
public struct WeakCacheConsistency: Hashable, Sendable {
    public var before: WeakCacheAttributes3?
    public var after: PostOpAttributes

    public init(before: WeakCacheAttributes3?, after: PostOpAttributes) {
        self.before = before
        self.after = after
    }

    /// Both halves from the object's current attributes (nil: unknown object).
    public init(unchanged attributes: FileAttributes3?) {
        self.init(before: attributes?.weakCacheAttributes, after: PostOpAttributes(attributes))
    }

    public static let none = WeakCacheConsistency(before: nil, after: .none)
}

extension WeakCacheConsistency: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDROptional(self.before) { buffer, before in before.encode(into: &buffer) }
            + self.after.encode(into: &buffer)
    }
}
