import NIOCore
import XDR

/// READDIR4args (RFC 8881 §18.23).
public struct READDIR4Args: Sendable, Equatable {
    public var cookie: UInt64
    public var cookieVerifier: UInt64
    /// Bytes of names and cookies the client wants (a hint).
    public var directoryCount: UInt32
    /// Bytes of READDIR4resok at most, attributes included.
    public var maximumCount: UInt32
    public var attributes: Bitmap4

    public init(cookie: UInt64, cookieVerifier: UInt64, directoryCount: UInt32, maximumCount: UInt32, attributes: Bitmap4) {
        self.cookie = cookie
        self.cookieVerifier = cookieVerifier
        self.directoryCount = directoryCount
        self.maximumCount = maximumCount
        self.attributes = attributes
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readXDRUInt64()
        self.cookieVerifier = try buffer.readXDRUInt64()
        self.directoryCount = try buffer.readXDRUInt32()
        self.maximumCount = try buffer.readXDRUInt32()
        self.attributes = try Bitmap4(xdr: &buffer)
    }
}

import Namespace

extension NFSv4Program {
    /// The cookie verifier: cookies never go stale (see `readdir`), so it
    /// is one constant, the same as NFSv3's ("p2pfsdir").
    static let cookieVerifier: UInt64 = 0x7032_7066_7364_6972

    /// READDIR (RFC 8881 §18.23) with NFSv3's cookie design: a cookie is
    /// the FileID of the entry it follows and children are listed in
    /// FileID order, so entries added or removed between calls neither
    /// shift, repeat nor hide others. "." and ".." are not listed in v4;
    /// cookies 1 and 2 are reserved (NFS4ERR_BAD_COOKIE).
    func readdir(_ args: READDIR4Args, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let directory = try context.currentNode()
        try Self.requireDirectory(directory)
        guard args.cookie != 1 && args.cookie != 2 else { throw .badCookie }
        guard args.cookie == 0 || args.cookieVerifier == 0 || args.cookieVerifier == Self.cookieVerifier else { throw .notSame }
        guard args.attributes.intersection(Attribute4.writeOnly).isEmpty else { throw .invalid }
        let children =
            args.cookie == 0
            ? context.snapshot.children(of: directory)[...]
            : context.snapshot.children(of: directory, after: FileID(rawValue: args.cookie))
        let limit = Int(args.maximumCount)
        // Verifier, the list's final "no value follows" and eof: even an
        // empty page (after the last cookie) takes them, and maxcount
        // bounds all of READDIR4resok.
        var used = 8 + 4 + 4
        guard used <= limit else { throw .tooSmall }
        body.writeXDRUInt64(Self.cookieVerifier)
        // The requested attributes are resolved once; each entry is then
        // sized and written straight into the reply in one pass.
        let plan = FileAttributePlan4(args.attributes, fileSystem: context.fileSystem)
        var listed = 0
        var isEnd = true
        for child in children {
            let attributes = context.attributes(of: child)
            let attributesLength = plan.encodedLength(of: attributes)
            let name = child.name
            let length = 4 + 8 + XDRRawWriter.stringLength(utf8Count: NameBytes.byteCount(name)) + attributesLength
            guard used + length <= limit else {
                isEnd = false
                break
            }
            used += length
            body.writeXDRRaw(length: length) { writer in
                writer.bool(true)
                writer.uint64(child.fileID.rawValue)
                NameBytes.withBytes(name) { bytes in
                    writer.uint32(UInt32(bytes.count))
                    writer.fixedOpaque(bytes)
                }
                plan.write(attributes, length: attributesLength, into: &writer)
            }
            listed += 1
        }
        if listed == 0 && !isEnd { throw .tooSmall }
        body.writeXDRBool(false)
        body.writeXDRBool(isEnd)
    }
}
