import NIOCore
import XDR

/// `post_op_attr`: attributes after an operation, when the server has them.
///
/// p2pfs always has them once a handle resolved; they are absent only when
/// the handle itself was the problem.
public struct PostOpAttributes: Hashable, Sendable {
    /// The encoded size of an absent value.
    public static let absentLength = 4
    /// The encoded size of a present value.
    public static let presentLength = 4 + FileAttributes3.encodedLength

    public var attributes: FileAttributes3?

    public init(_ attributes: FileAttributes3?) {
        self.attributes = attributes
    }

    public static let none = PostOpAttributes(nil)

    public var encodedLength: Int {
        self.attributes == nil ? Self.absentLength : Self.presentLength
    }
}

extension PostOpAttributes: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDROptional(self.attributes) { buffer, attributes in attributes.encode(into: &buffer) }
    }
}

/// `post_op_fh3`: a handle that may be omitted.
public struct PostOpFileHandle3: Hashable, Sendable {
    public var handle: NFS3FileHandle?

    public init(_ handle: NFS3FileHandle?) {
        self.handle = handle
    }

    public var encodedLength: Int {
        self.handle == nil ? 4 : 4 + 4 + NFS3FileHandle.length
    }
}

extension PostOpFileHandle3: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDROptional(self.handle) { buffer, handle in handle.encode(into: &buffer) }
    }
}

extension XDRRawWriter {
    mutating func postOpAttributes(_ value: PostOpAttributes) {
        guard let attributes = value.attributes else {
            self.bool(false)
            return
        }
        self.bool(true)
        attributes.encode(into: &self)
    }

    mutating func postOpFileHandle(_ value: PostOpFileHandle3) {
        guard let handle = value.handle else {
            self.bool(false)
            return
        }
        self.bool(true)
        self.handle(handle)
    }
}
