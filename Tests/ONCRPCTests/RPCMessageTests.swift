import NIOCore
import ONCRPC
import Testing
import XDR

@Suite("RPC message decoding (RFC 5531 §9)")
struct RPCMessageTests {
    /// A NULL call to NFS version 3 with AUTH_SYS (machine "box", uid 1000,
    /// gid 100, one extra gid 27) and an AUTH_NONE verifier.
    static let nfsNullCall: [UInt8] =
        words(0x0102_0304, 0, 2, 100_003, 3, 0)
        + words(1, 28) + words(0x5EED) + words(3) + [0x62, 0x6F, 0x78, 0] + words(1000, 100, 1, 27)
        + words(0, 0)

    static func decode(_ bytes: [UInt8]) throws(RPCMessageDecodingError) -> RPCMessage {
        var buffer = ByteBuffer(bytes: bytes)
        return try RPCMessage(record: &buffer)
    }

    @Test func callVector() throws {
        guard case .call(let call) = try Self.decode(Self.nfsNullCall + [0xAB, 0xCD, 0xEF, 0x01]) else {
            Issue.record("not a call")
            return
        }
        #expect(call.xid == 0x0102_0304)
        #expect(call.program == 100_003)
        #expect(call.version == 3)
        #expect(call.procedure == 0)
        #expect(call.credential.flavor == RPCAuthFlavor.sys.rawValue)
        var body = call.credential.body
        let parameters = try AuthSysParameters(xdr: &body)
        #expect(parameters == AuthSysParameters(stamp: 0x5EED, machineName: "box", uid: 1000, gid: 100, auxiliaryGIDs: [27]))
        #expect(call.verifier == .none)
        #expect(bytes(call.arguments) == [0xAB, 0xCD, 0xEF, 0x01])
    }

    @Test func callEncodesToTheSameBytes() {
        var credential = ByteBuffer()
        AuthSysParameters(stamp: 0x5EED, machineName: "box", uid: 1000, gid: 100, auxiliaryGIDs: [27]).encode(into: &credential)
        var out = ByteBuffer()
        let written = RPCCall(
            xid: 0x0102_0304, program: 100_003, version: 3, procedure: 0,
            credential: RPCOpaqueAuth(flavor: .sys, body: credential)
        ).encode(into: &out)
        #expect(bytes(out) == Self.nfsNullCall)
        #expect(written == Self.nfsNullCall.count)
    }

    @Test func acceptedSuccessReplyVector() throws {
        let reply = words(7, 1, 0, 0, 0, 0) + words(0xCAFE)
        guard case .reply(let header, let results) = try Self.decode(reply) else {
            Issue.record("not a reply")
            return
        }
        #expect(header == .success(xid: 7))
        #expect(bytes(results) == words(0xCAFE))
    }

    @Test(arguments: [
        (words(8, 1, 0, 0, 0, 1), RPCReplyHeader.Status.accepted(verifier: .none, status: .programUnavailable)),
        (words(8, 1, 0, 0, 0, 2, 2, 4), .accepted(verifier: .none, status: .programMismatch(low: 2, high: 4))),
        (words(8, 1, 0, 0, 0, 3), .accepted(verifier: .none, status: .procedureUnavailable)),
        (words(8, 1, 0, 0, 0, 4), .accepted(verifier: .none, status: .garbageArguments)),
        (words(8, 1, 0, 0, 0, 5), .accepted(verifier: .none, status: .systemError)),
        (words(8, 1, 1, 0, 2, 2), .denied(.rpcMismatch(low: 2, high: 2))),
        (words(8, 1, 1, 1, 1), .denied(.authError(.badCredential))),
        (words(8, 1, 1, 1, 5), .denied(.authError(.tooWeak))),
    ])
    func replyHeaderVectors(_ vector: [UInt8], _ status: RPCReplyHeader.Status) throws {
        guard case .reply(let header, let results) = try Self.decode(vector) else {
            Issue.record("not a reply")
            return
        }
        #expect(header == RPCReplyHeader(xid: 8, status: status))
        #expect(results.readableBytes == 0)
        var encoded = ByteBuffer()
        header.encode(into: &encoded)
        #expect(bytes(encoded) == vector)
    }

    @Test func rpcVersionThreeIsAVersionMismatch() {
        #expect(throws: RPCMessageDecodingError.rpcVersionMismatch(xid: 9, version: 3)) {
            try Self.decode(words(9, 0, 3, 100_003, 3, 0, 0, 0, 0, 0))
        }
    }

    @Test func credentialBodyOver400BytesIsRejected() {
        let call = words(10, 0, 2, 100_003, 3, 0) + words(1, 401) + [UInt8](repeating: 0, count: 404) + words(0, 0)
        #expect(throws: RPCMessageDecodingError.malformedCallHeader(xid: 10, .lengthLimitExceeded(length: 401, limit: 400))) {
            try Self.decode(call)
        }
    }

    @Test func credentialBodyOfExactly400BytesIsAccepted() throws {
        let call = words(10, 0, 2, 100_003, 3, 0) + words(1, 400) + [UInt8](repeating: 0, count: 400) + words(0, 0)
        guard case .call(let decoded) = try Self.decode(call) else {
            Issue.record("not a call")
            return
        }
        #expect(decoded.credential.body.readableBytes == 400)
    }

    @Test func garbage() {
        #expect(throws: RPCMessageDecodingError.unreadable(.truncated(needed: 4, available: 3))) { try Self.decode([1, 2, 3]) }
        #expect(throws: RPCMessageDecodingError.unreadable(.truncated(needed: 4, available: 0))) { try Self.decode(words(11)) }
        #expect(throws: RPCMessageDecodingError.invalidMessageType(xid: 11, value: 7)) { try Self.decode(words(11, 7)) }
        #expect(throws: RPCMessageDecodingError.malformedCallHeader(xid: 11, .truncated(needed: 4, available: 0))) {
            try Self.decode(words(11, 0))
        }
        #expect(throws: RPCMessageDecodingError.malformedCallHeader(xid: 11, .truncated(needed: 4, available: 2))) {
            try Self.decode(words(11, 0, 2, 1, 1, 1, 0) + [0, 0])
        }
        #expect(throws: RPCMessageDecodingError.malformedReplyHeader(xid: 11, .invalidDiscriminant(type: "reply_stat", value: 2))) {
            try Self.decode(words(11, 1, 2))
        }
        #expect(throws: RPCMessageDecodingError.malformedReplyHeader(xid: 11, .invalidDiscriminant(type: "accept_stat", value: 6))) {
            try Self.decode(words(11, 1, 0, 0, 0, 6))
        }
    }

    @Test func authSysLimits() throws {
        var longName = ByteBuffer(bytes: words(0, 256) + [UInt8](repeating: 0x61, count: 256) + words(0, 0, 0))
        #expect(throws: XDRError.lengthLimitExceeded(length: 256, limit: 255)) { try AuthSysParameters(xdr: &longName) }
        var manyGroups = ByteBuffer(bytes: words(0, 0, 0, 0, 17) + [UInt8](repeating: 0, count: 68))
        #expect(throws: XDRError.lengthLimitExceeded(length: 17, limit: 16)) { try AuthSysParameters(xdr: &manyGroups) }
    }
}
