import NIOCore
import Namespace

extension NFSv4Program {
    /// GETATTR (RFC 8881 §18.7): the supported subset of what was asked;
    /// asking for a write-only attribute is NFS4ERR_INVAL.
    func getattr(_ mask: Bitmap4, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let node = try context.currentNode()
        guard mask.intersection(Attribute4.writeOnly).isEmpty else { throw .invalid }
        context.attributes(of: node).encode(mask, into: &body)
    }

    /// VERIFY and NVERIFY (§18.31, §18.15): compares the client's values
    /// with the server's encoding of the same attributes, byte for byte.
    func verify(_ attributes: FileAttributesArgument4, expectSame: Bool, _ context: inout CompoundContext) throws(NFS4Status) {
        let node = try context.currentNode()
        guard attributes.mask.subtracting(Attribute4.supported).isEmpty else { throw .attributeNotSupported }
        guard !attributes.mask.contains(Attribute4.readdirAttributeError.rawValue) else { throw .invalid }
        var ours = ByteBuffer()
        context.attributes(of: node).encodeValues(attributes.mask, into: &ours)
        let same = ours == attributes.values
        if expectSame && !same { throw .notSame }
        if !expectSame && same { throw .same }
    }
}
