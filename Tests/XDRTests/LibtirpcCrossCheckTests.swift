import CTIRPC
import NIOCore
import Testing
import XDR

/// Encodes with libtirpc's XDR memory stream and returns the bytes written.
func tirpcEncode(capacity: Int = 1024, _ body: (UnsafeMutablePointer<XDR>) -> bool_t) -> [UInt8]? {
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    defer { storage.deallocate() }
    storage.initialize(repeating: 0, count: capacity)
    var stream = XDR()
    xdrmem_create(&stream, storage, u_int(capacity), XDR_ENCODE)
    guard body(&stream) != 0 else { return nil }
    let length = Int(stream.x_ops.pointee.x_getpostn(&stream))
    return UnsafeRawBufferPointer(start: storage, count: length).map { $0 }
}

/// Decodes `bytes` with libtirpc's XDR memory stream.
func tirpcDecode(_ bytes: [UInt8], _ body: (UnsafeMutablePointer<XDR>) -> bool_t) -> Bool {
    var copy = bytes.map { CChar(bitPattern: $0) }
    return copy.withUnsafeMutableBufferPointer { pointer in
        var stream = XDR()
        xdrmem_create(&stream, pointer.baseAddress, u_int(pointer.count), XDR_DECODE)
        return body(&stream) != 0
    }
}

/// The same values through libtirpc's XDR routines and ours must give the same bytes.
@Suite("XDR against libtirpc")
struct LibtirpcCrossCheckTests {
    @Test func integers() throws {
        var signed: Int32 = -123_456
        var unsigned: u_int = 0xFEED_F00D
        var hyper: UInt64 = 0x8000_0000_0000_0001
        var flag: bool_t = 1
        let theirs = try #require(
            tirpcEncode { xdr in
                xdr_int(xdr, &signed) != 0 && xdr_u_int(xdr, &unsigned) != 0 && xdr_u_int64_t(xdr, &hyper) != 0 && xdr_bool(xdr, &flag) != 0
                    ? 1 : 0
            }
        )
        var ours = ByteBuffer()
        ours.writeXDRInt32(-123_456)
        ours.writeXDRUInt32(0xFEED_F00D)
        ours.writeXDRUInt64(0x8000_0000_0000_0001)
        ours.writeXDRBool(true)
        #expect(bytes(ours) == theirs)
    }

    @Test(arguments: ["", "a", "ab", "abc", "abcd", "sillyprog", "ünïcödé"])
    func strings(_ text: String) throws {
        let theirs = try #require(
            tirpcEncode { xdr in
                text.withCString { cString in
                    var pointer: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: cString)
                    return xdr_string(xdr, &pointer, 1024)
                }
            }
        )
        var ours = ByteBuffer()
        ours.writeXDRString(text)
        #expect(bytes(ours) == theirs)

        var input = buffer(theirs)
        #expect(try input.readXDRString() == text)
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5, 400])
    func variableOpaque(_ length: Int) throws {
        let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let theirs = try #require(
            tirpcEncode { xdr in
                var copy = data.map { CChar(bitPattern: $0) }
                return copy.withUnsafeMutableBufferPointer { pointer in
                    var base: UnsafeMutablePointer<CChar>? = pointer.baseAddress
                    var size = u_int(length)
                    return xdr_bytes(xdr, &base, &size, 1024)
                }
            }
        )
        var ours = ByteBuffer()
        ours.writeXDRVariableOpaque(data)
        #expect(bytes(ours) == theirs)
    }

    @Test func fixedOpaque() throws {
        let data: [UInt8] = [1, 2, 3, 4, 5]
        let theirs = try #require(
            tirpcEncode { xdr in
                var copy = data.map { CChar(bitPattern: $0) }
                return xdr_opaque(xdr, &copy, u_int(copy.count))
            }
        )
        var ours = ByteBuffer()
        ours.writeXDRFixedOpaque(data)
        #expect(bytes(ours) == theirs)
    }
}

/// An RPC call header (RFC 5531 §9) written with our primitives against
/// libtirpc's `xdr_callmsg`, both ways.
@Suite("RPC call header against libtirpc xdr_callmsg")
struct LibtirpcCallMessageTests {
    static let credentialBody: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 5, 0x68, 0x6F, 0x73, 0x74, 0x73, 0, 0, 0]

    static func ourHeader() -> [UInt8] {
        var out = ByteBuffer()
        out.writeXDRUInt32(0x1234_5678)  // xid
        out.writeXDRUInt32(0)  // CALL
        out.writeXDRUInt32(2)  // rpcvers
        out.writeXDRUInt32(100_003)  // prog
        out.writeXDRUInt32(3)  // vers
        out.writeXDRUInt32(4)  // proc
        out.writeXDRUInt32(1)  // cred flavor AUTH_SYS
        out.writeXDRVariableOpaque(Self.credentialBody)
        out.writeXDRUInt32(0)  // verf flavor AUTH_NONE
        out.writeXDRVariableOpaque([UInt8]())
        return bytes(out)
    }

    @Test func encodingMatches() throws {
        var credential = Self.credentialBody.map { CChar(bitPattern: $0) }
        let theirs = try credential.withUnsafeMutableBufferPointer { credentialPointer in
            try #require(
                tirpcEncode { xdr in
                    var message = rpc_msg()
                    message.rm_xid = 0x1234_5678
                    message.rm_direction = CALL
                    message.ru.RM_cmb.cb_rpcvers = 2
                    message.ru.RM_cmb.cb_prog = 100_003
                    message.ru.RM_cmb.cb_vers = 3
                    message.ru.RM_cmb.cb_proc = 4
                    message.ru.RM_cmb.cb_cred = opaque_auth(oa_flavor: 1, oa_base: credentialPointer.baseAddress, oa_length: u_int(credentialPointer.count))
                    message.ru.RM_cmb.cb_verf = opaque_auth(oa_flavor: 0, oa_base: nil, oa_length: 0)
                    return xdr_callmsg(xdr, &message)
                }
            )
        }
        #expect(theirs == Self.ourHeader())
    }

    @Test func libtirpcDecodesOurBytes() {
        var message = rpc_msg()
        var credentialSpace = [CChar](repeating: 0, count: 400)
        var verifierSpace = [CChar](repeating: 0, count: 400)
        let decoded = credentialSpace.withUnsafeMutableBufferPointer { credential in
            verifierSpace.withUnsafeMutableBufferPointer { verifier in
                message.ru.RM_cmb.cb_cred.oa_base = credential.baseAddress
                message.ru.RM_cmb.cb_verf.oa_base = verifier.baseAddress
                return tirpcDecode(Self.ourHeader()) { xdr_callmsg($0, &message) }
            }
        }
        #expect(decoded)
        #expect(message.rm_xid == 0x1234_5678)
        #expect(message.rm_direction == CALL)
        #expect(message.ru.RM_cmb.cb_prog == 100_003)
        #expect(message.ru.RM_cmb.cb_vers == 3)
        #expect(message.ru.RM_cmb.cb_proc == 4)
        #expect(message.ru.RM_cmb.cb_cred.oa_flavor == 1)
        #expect(message.ru.RM_cmb.cb_cred.oa_length == 16)
        #expect(credentialSpace.prefix(16).map { UInt8(bitPattern: $0) } == Self.credentialBody)
        #expect(message.ru.RM_cmb.cb_verf.oa_length == 0)
    }
}
