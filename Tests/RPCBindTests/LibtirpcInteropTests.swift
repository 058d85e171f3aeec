import CTIRPC
import NIOCore
import ONCRPC
import RPCBind
import Testing
import XDR

/// Encodes with libtirpc's XDR memory stream and returns the bytes written.
func tirpcEncode(capacity: Int = 2048, _ body: (UnsafeMutablePointer<XDR>) -> bool_t) -> [UInt8]? {
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    defer { storage.deallocate() }
    storage.initialize(repeating: 0, count: capacity)
    var stream = XDR()
    xdrmem_create(&stream, storage, u_int(capacity), XDR_ENCODE)
    guard body(&stream) != 0 else { return nil }
    let length = Int(stream.x_ops.pointee.x_getpostn(&stream))
    return UnsafeRawBufferPointer(start: storage, count: length).map { $0 }
}

/// Calls `body` with C strings that stay valid during the call.
func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>]) -> T) -> T {
    let pointers = strings.map { strdup($0)! }
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

/// The RPC and rpcbind types of ONCRPC and RPCBind against libtirpc's own
/// XDR routines: the same values must give the same bytes.
@Suite("Wire formats against libtirpc")
struct LibtirpcInteropTests {
    @Test func callHeaderWithAuthSys() throws {
        let parameters = AuthSysParameters(stamp: 0x6000_0001, machineName: "client.example", uid: 1000, gid: 1000, auxiliaryGIDs: [4, 24, 27])
        var credential = ByteBuffer()
        parameters.encode(into: &credential)
        var ours = ByteBuffer()
        RPCCall(
            xid: 0xCAFE_0001, program: 100_005, version: 3, procedure: 1, credential: RPCOpaqueAuth(flavor: .sys, body: credential)
        ).encodeHeader(into: &ours)

        // libtirpc: the credential body with xdr_authunix_parms, then the header with xdr_callmsg.
        let theirCredential = try #require(
            withCStrings(["client.example"]) { names in
                tirpcEncode { xdr in
                    var gids: [gid_t] = [4, 24, 27]
                    return gids.withUnsafeMutableBufferPointer { gidPointer in
                        var unix = authunix_parms(
                            aup_time: 0x6000_0001, aup_machname: names[0], aup_uid: 1000, aup_gid: 1000,
                            aup_len: 3, aup_gids: gidPointer.baseAddress
                        )
                        return xdr_authunix_parms(xdr, &unix)
                    }
                }
            }
        )
        #expect(theirCredential == bytes(credential))
        var credentialBytes = theirCredential.map { CChar(bitPattern: $0) }
        let theirs = try credentialBytes.withUnsafeMutableBufferPointer { pointer in
            try #require(
                tirpcEncode { xdr in
                    var message = rpc_msg()
                    message.rm_xid = 0xCAFE_0001
                    message.rm_direction = CALL
                    message.ru.RM_cmb.cb_rpcvers = 2
                    message.ru.RM_cmb.cb_prog = 100_005
                    message.ru.RM_cmb.cb_vers = 3
                    message.ru.RM_cmb.cb_proc = 1
                    message.ru.RM_cmb.cb_cred = opaque_auth(oa_flavor: 1, oa_base: pointer.baseAddress, oa_length: u_int(pointer.count))
                    message.ru.RM_cmb.cb_verf = opaque_auth(oa_flavor: 0, oa_base: nil, oa_length: 0)
                    return xdr_callmsg(xdr, &message)
                }
            )
        }
        #expect(theirs == bytes(ours))

        // And libtirpc's bytes decode to the same parameters here.
        var back = ByteBuffer(bytes: theirCredential)
        #expect(try AuthSysParameters(xdr: &back) == parameters)
    }

    @Test func pmapMapping() throws {
        let theirs = try #require(
            tirpcEncode { xdr in
                var map = pmap(pm_prog: 100_003, pm_vers: 3, pm_prot: 6, pm_port: 2049)
                return xdr_pmap(xdr, &map)
            }
        )
        var ours = ByteBuffer()
        PortmapMapping(program: 100_003, version: 3, protocol: .tcp, port: 2049).encode(into: &ours)
        #expect(bytes(ours) == theirs)
    }

    @Test(arguments: [("tcp", "127.0.0.1.8.1", "superuser"), ("udp6", "::1.78.80", "p2pfs"), ("", "", "")])
    func rpcbMapping(_ netid: String, _ address: String, _ owner: String) throws {
        let theirs = try #require(
            withCStrings([netid, address, owner]) { strings in
                tirpcEncode { xdr in
                    var mapping = rpcb(r_prog: 100_005, r_vers: 3, r_netid: strings[0], r_addr: strings[1], r_owner: strings[2])
                    return xdr_rpcb(xdr, &mapping)
                }
            }
        )
        var ours = ByteBuffer()
        RPCBMapping(program: 100_005, version: 3, netid: netid, address: address, owner: owner).encode(into: &ours)
        #expect(bytes(ours) == theirs)
        var back = ByteBuffer(bytes: theirs)
        #expect(try RPCBMapping(xdr: &back) == RPCBMapping(program: 100_005, version: 3, netid: netid, address: address, owner: owner))
    }

    @Test func rpcbAddressEntry() throws {
        let theirs = try #require(
            withCStrings(["127.0.0.1.78.80", "tcp", "inet", "tcp"]) { strings in
                tirpcEncode { xdr in
                    var entry = rpcb_entry(r_maddr: strings[0], r_nc_netid: strings[1], r_nc_semantics: 3, r_nc_protofmly: strings[2], r_nc_proto: strings[3])
                    return xdr_rpcb_entry(xdr, &entry)
                }
            }
        )
        var ours = ByteBuffer()
        RPCBAddressEntry(address: "127.0.0.1.78.80", netid: "tcp", semantics: 3, protocolFamily: "inet", protocolName: "tcp").encode(into: &ours)
        #expect(bytes(ours) == theirs)
    }

    /// libtirpc's universal address conversion agrees with ours.
    @Test(arguments: [("tcp", "127.0.0.1", UInt16(2049)), ("udp", "10.1.2.3", 111), ("tcp6", "::1", 20048), ("udp6", "fe80::1", 65535)])
    func universalAddresses(_ netid: String, _ host: String, _ port: UInt16) throws {
        let ours = try #require(UniversalAddress(host: host, port: port)).description
        guard let netconfig = getnetconfigent(netid) else {
            try Test.cancel("/etc/netconfig has no \(netid)")
        }
        defer { freenetconfigent(netconfig) }
        let transport = try #require(uaddr2taddr(netconfig, ours))
        defer {
            free(transport.pointee.buf)
            free(transport)
        }
        let back = try #require(taddr2uaddr(netconfig, transport))
        defer { free(back) }
        #expect(String(cString: back) == ours)
    }
}
