import NIOCore
import ONCRPC
import RPCBind
import Testing
import XDR

@Suite("Portmapper procedures through encoded calls")
struct PortmapProgramTests {
    static func daemonRegistry() -> PortmapRegistry {
        PortmapRegistry(entries: [
            PortmapEntry(program: 100_003, version: 3, netid: "tcp", address: "0.0.0.0.8.1", owner: "p2pfs"),
            PortmapEntry(program: 100_005, version: 3, netid: "tcp", address: "0.0.0.0.78.80", owner: "p2pfs"),
            PortmapEntry(program: 100_005, version: 3, netid: "udp", address: "0.0.0.0.78.80", owner: "p2pfs"),
        ])
    }

    // MARK: PMAP version 2

    /// PMAPPROC_GETPORT for NFS version 3 over TCP, record-marked, both ways:
    /// RFC 5531 call header, RFC 1833 `mapping` argument, `unsigned int` result.
    @Test func getportByteExact() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()))
        defer { harness.finish() }
        let request: [UInt8] = [
            0x80, 0x00, 0x00, 0x38,  // record mark: last fragment, 56 bytes
            0x5C, 0x2A, 0x00, 0x01,  // xid
            0x00, 0x00, 0x00, 0x00,  // CALL
            0x00, 0x00, 0x00, 0x02,  // RPC version 2
            0x00, 0x01, 0x86, 0xA0,  // program 100000
            0x00, 0x00, 0x00, 0x02,  // version 2
            0x00, 0x00, 0x00, 0x03,  // PMAPPROC_GETPORT
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // credential AUTH_NONE
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // verifier AUTH_NONE
            0x00, 0x01, 0x86, 0xA3,  // mapping.prog = 100003
            0x00, 0x00, 0x00, 0x03,  // mapping.vers = 3
            0x00, 0x00, 0x00, 0x06,  // mapping.prot = IPPROTO_TCP
            0x00, 0x00, 0x00, 0x00,  // mapping.port (ignored)
        ]
        let expected: [UInt8] = [
            0x80, 0x00, 0x00, 0x1C,  // record mark: last fragment, 28 bytes
            0x5C, 0x2A, 0x00, 0x01,  // xid
            0x00, 0x00, 0x00, 0x01,  // REPLY
            0x00, 0x00, 0x00, 0x00,  // MSG_ACCEPTED
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // verifier AUTH_NONE
            0x00, 0x00, 0x00, 0x00,  // SUCCESS
            0x00, 0x00, 0x08, 0x01,  // port 2049
        ]
        try harness.channel.writeInbound(ByteBuffer(bytes: request))
        var reply: [UInt8] = []
        while let data = try harness.channel.readOutbound(as: IOData.self), reply.count < 1000 {
            if case .byteBuffer(let buffer) = data { reply += bytes(buffer) }
        }
        #expect(reply == expected)
    }

    @Test func getportOfUnregisteredProgramIsZero() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()))
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 2, version: 2, procedure: 3, arguments: words(100_021, 4, 17, 0))) == words(0))
        #expect(try harness.results(portmapCall(xid: 3, version: 2, procedure: 3, arguments: words(100_003, 3, 17, 0))) == words(0))
        #expect(try harness.results(portmapCall(xid: 4, version: 2, procedure: 3, arguments: words(100_005, 3, 17, 0))) == words(20048))
    }

    @Test func nullInEveryVersion() throws {
        let harness = try PortmapHarness()
        defer { harness.finish() }
        for version in UInt32(2)...4 {
            #expect(try harness.exchange(portmapCall(xid: version, version: version, procedure: 0)) == words(0x8000_0018) + successHeader(version))
        }
    }

    @Test func unservedVersionIsProgMismatch() throws {
        let harness = try PortmapHarness()
        defer { harness.finish() }
        #expect(try harness.exchange(portmapCall(xid: 5, version: 5, procedure: 0)) == words(0x8000_0020, 5, 1, 0, 0, 0, 2, 2, 4))
        #expect(try harness.exchange(portmapCall(xid: 6, version: 1, procedure: 0)) == words(0x8000_0020, 6, 1, 0, 0, 0, 2, 2, 4))
    }

    @Test func pmapSetGetportDumpUnsetFromLoopback() throws {
        let harness = try PortmapHarness()
        defer { harness.finish() }
        let mapping = words(100_024, 1, 17, 32765)
        #expect(try harness.results(portmapCall(xid: 10, version: 2, procedure: 1, arguments: mapping)) == words(1))
        #expect(try harness.results(portmapCall(xid: 11, version: 2, procedure: 1, arguments: mapping)) == words(0), "already mapped")
        #expect(try harness.results(portmapCall(xid: 12, version: 2, procedure: 3, arguments: words(100_024, 1, 17, 0))) == words(32765))
        #expect(try harness.results(portmapCall(xid: 13, version: 2, procedure: 4)) == words(1, 100_024, 1, 17, 32765, 0))
        #expect(try harness.results(portmapCall(xid: 14, version: 2, procedure: 2, arguments: words(100_024, 1, 0, 0))) == words(1))
        #expect(try harness.results(portmapCall(xid: 15, version: 2, procedure: 3, arguments: words(100_024, 1, 17, 0))) == words(0))
        #expect(try harness.results(portmapCall(xid: 16, version: 2, procedure: 4)) == words(0))
        #expect(harness.program.snapshot.entries.isEmpty)
    }

    @Test func setAndUnsetFromARemoteCallerAreRefused() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()), remote: "192.0.2.7")
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 20, version: 2, procedure: 1, arguments: words(100_024, 1, 6, 1000))) == words(0))
        #expect(try harness.results(portmapCall(xid: 21, version: 2, procedure: 2, arguments: words(100_003, 3, 6, 0))) == words(0))
        let rpcb = RPCBMapping(program: 100_024, version: 1, netid: "tcp", address: "0.0.0.0.3.232", owner: "x")
        var arguments = ByteBuffer()
        rpcb.encode(into: &arguments)
        #expect(try harness.results(portmapCall(xid: 22, version: 3, procedure: 1, arguments: bytes(arguments))) == words(0))
        #expect(try harness.results(portmapCall(xid: 23, version: 4, procedure: 2, arguments: bytes(arguments))) == words(0))
        #expect(harness.program.snapshot == Self.daemonRegistry())
        // Queries are answered for everyone.
        #expect(try harness.results(portmapCall(xid: 24, version: 2, procedure: 3, arguments: words(100_003, 3, 6, 0))) == words(2049))
    }

    @Test func loopbackCallersCannotRemoveTheDaemonsMappings() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()))
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 25, version: 2, procedure: 2, arguments: words(100_005, 3, 0, 0))) == words(0))
        #expect(harness.program.snapshot == Self.daemonRegistry())
    }

    @Test func pmapDumpByteExact() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()))
        defer { harness.finish() }
        let expected =
            words(1, 100_003, 3, 6, 2049)
            + words(1, 100_005, 3, 6, 20048)
            + words(1, 100_005, 3, 17, 20048)
            + words(0)
        #expect(try harness.results(portmapCall(xid: 26, version: 2, procedure: 4)) == expected)
    }

    @Test func callitAndUnknownProceduresAreProcUnavail() throws {
        let harness = try PortmapHarness()
        defer { harness.finish() }
        let procUnavail = { (xid: UInt32) in words(0x8000_0018, xid, 1, 0, 0, 0, 3) }
        #expect(try harness.exchange(portmapCall(xid: 27, version: 2, procedure: 5, arguments: words(100_003, 3, 0, 0))) == procUnavail(27))
        #expect(try harness.exchange(portmapCall(xid: 28, version: 2, procedure: 6)) == procUnavail(28))
        #expect(try harness.exchange(portmapCall(xid: 29, version: 3, procedure: 5)) == procUnavail(29))
        #expect(try harness.exchange(portmapCall(xid: 30, version: 3, procedure: 7, arguments: xdrString("127.0.0.1.0.111"))) == procUnavail(30))
        #expect(try harness.exchange(portmapCall(xid: 31, version: 3, procedure: 9)) == procUnavail(31), "GETVERSADDR is version 4 only")
        #expect(try harness.exchange(portmapCall(xid: 32, version: 4, procedure: 10)) == procUnavail(32))
        #expect(try harness.exchange(portmapCall(xid: 33, version: 4, procedure: 12)) == procUnavail(33))
        #expect(try harness.exchange(portmapCall(xid: 34, version: 4, procedure: 13)) == procUnavail(34))
    }

    @Test func truncatedArgumentsAreGarbage() throws {
        let harness = try PortmapHarness()
        defer { harness.finish() }
        #expect(try harness.exchange(portmapCall(xid: 35, version: 2, procedure: 3, arguments: words(100_003, 3, 6))) == words(0x8000_0018, 35, 1, 0, 0, 0, 4))
        #expect(try harness.exchange(portmapCall(xid: 36, version: 3, procedure: 3, arguments: words(100_003, 3, 0xFFFF))) == words(0x8000_0018, 36, 1, 0, 0, 0, 4))
    }

    // MARK: rpcbind versions 3 and 4

    static func rpcb(_ program: UInt32, _ version: UInt32, _ netid: String, _ address: String = "", owner: String = "") -> [UInt8] {
        var out = ByteBuffer()
        RPCBMapping(program: program, version: version, netid: netid, address: address, owner: owner).encode(into: &out)
        return bytes(out)
    }

    @Test func rpcbSetGetaddrUnset() throws {
        let harness = try PortmapHarness()
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 40, version: 3, procedure: 1, arguments: Self.rpcb(100_024, 1, "tcp", "127.0.0.1.127.253", owner: "ignored"))) == words(1))
        #expect(harness.program.snapshot.entries == [PortmapEntry(program: 100_024, version: 1, netid: "tcp", address: "127.0.0.1.127.253", owner: "unknown")])
        #expect(try harness.results(portmapCall(xid: 41, version: 3, procedure: 1, arguments: Self.rpcb(100_024, 1, "tcp", "127.0.0.1.127.254"))) == words(0))
        #expect(try harness.results(portmapCall(xid: 42, version: 3, procedure: 3, arguments: Self.rpcb(100_024, 1, "tcp"))) == xdrString("127.0.0.1.127.253"))
        #expect(try harness.results(portmapCall(xid: 43, version: 4, procedure: 2, arguments: Self.rpcb(100_024, 1, "tcp"))) == words(1))
        #expect(try harness.results(portmapCall(xid: 44, version: 3, procedure: 3, arguments: Self.rpcb(100_024, 1, "tcp"))) == xdrString(""))
    }

    @Test func getaddrMergesWildcardAddressesWithTheAddressTheClientUsed() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()), local: "127.0.0.1")
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 45, version: 3, procedure: 3, arguments: Self.rpcb(100_003, 3, "tcp"))) == xdrString("127.0.0.1.8.1"))
        #expect(try harness.results(portmapCall(xid: 46, version: 4, procedure: 3, arguments: Self.rpcb(100_003, 3, ""))) == xdrString("127.0.0.1.8.1"))
    }

    @Test func getaddrFallsBackToAnotherVersionButGetversaddrDoesNot() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()))
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 47, version: 4, procedure: 3, arguments: Self.rpcb(100_003, 4, "tcp"))) == xdrString("127.0.0.1.8.1"))
        #expect(try harness.results(portmapCall(xid: 48, version: 4, procedure: 9, arguments: Self.rpcb(100_003, 4, "tcp"))) == xdrString(""))
        #expect(try harness.results(portmapCall(xid: 49, version: 4, procedure: 9, arguments: Self.rpcb(100_003, 3, "tcp"))) == xdrString("127.0.0.1.8.1"))
    }

    @Test func getaddrUsesTheNetidOfTheTransportFirst() throws {
        let registry = PortmapRegistry(entries: [
            PortmapEntry(program: 100_005, version: 3, netid: "tcp", address: "127.0.0.1.3.1", owner: "p2pfs"),
            PortmapEntry(program: 100_005, version: 3, netid: "udp", address: "127.0.0.1.3.2", owner: "p2pfs"),
            PortmapEntry(program: 100_003, version: 3, netid: "tcp", address: "127.0.0.1.8.1", owner: "p2pfs"),
        ])
        let harness = try PortmapHarness(program: PortmapProgram(registry: registry), transport: .udp)
        defer { harness.finish() }
        // Over UDP, the UDP mapping, whatever netid was asked for (RFC 1833 §2.2.1)...
        #expect(try harness.results(portmapCall(xid: 50, version: 3, procedure: 3, arguments: Self.rpcb(100_005, 3, "tcp"))) == xdrString("127.0.0.1.3.2"))
        // ...and the named netid when the transport's has none.
        #expect(try harness.results(portmapCall(xid: 51, version: 3, procedure: 3, arguments: Self.rpcb(100_003, 3, "tcp"))) == xdrString("127.0.0.1.8.1"))
        #expect(try harness.results(portmapCall(xid: 52, version: 3, procedure: 3, arguments: Self.rpcb(100_003, 3, ""))) == xdrString(""))
    }

    @Test func rpcbDumpByteExact() throws {
        let registry = PortmapRegistry(entries: [
            PortmapEntry(program: 100_000, version: 4, netid: "tcp", address: "0.0.0.0.0.111", owner: "superuser"),
            PortmapEntry(program: 100_003, version: 3, netid: "tcp6", address: "::.8.1", owner: "p2pfs"),
        ])
        let harness = try PortmapHarness(program: PortmapProgram(registry: registry))
        defer { harness.finish() }
        let expected =
            words(1, 100_000, 4) + xdrString("tcp") + xdrString("0.0.0.0.0.111") + xdrString("superuser")
            + words(1, 100_003, 3) + xdrString("tcp6") + xdrString("::.8.1") + xdrString("p2pfs")
            + words(0)
        #expect(try harness.results(portmapCall(xid: 53, version: 3, procedure: 4)) == expected)
        #expect(try harness.results(portmapCall(xid: 54, version: 4, procedure: 4)) == expected)
    }

    @Test func gettime() throws {
        let harness = try PortmapHarness(program: PortmapProgram(now: { 1_700_000_000 }))
        defer { harness.finish() }
        #expect(try harness.results(portmapCall(xid: 55, version: 3, procedure: 6)) == words(1_700_000_000))
        #expect(try harness.results(portmapCall(xid: 56, version: 4, procedure: 6)) == words(1_700_000_000))
    }

    @Test func getaddrlistByteExact() throws {
        let registry = PortmapRegistry(entries: [
            PortmapEntry(program: 100_005, version: 3, netid: "tcp", address: "0.0.0.0.78.80", owner: "p2pfs"),
            PortmapEntry(program: 100_005, version: 3, netid: "udp", address: "127.0.0.1.78.80", owner: "p2pfs"),
            PortmapEntry(program: 100_005, version: 3, netid: "tcp6", address: "::1.78.80", owner: "p2pfs"),
            PortmapEntry(program: 100_005, version: 1, netid: "tcp", address: "0.0.0.0.78.81", owner: "p2pfs"),
        ])
        let harness = try PortmapHarness(program: PortmapProgram(registry: registry))
        defer { harness.finish() }
        let expected =
            words(1) + xdrString("127.0.0.1.78.80") + xdrString("tcp") + words(3) + xdrString("inet") + xdrString("tcp")
            + words(1) + xdrString("127.0.0.1.78.80") + xdrString("udp") + words(1) + xdrString("inet") + xdrString("udp")
            + words(0)
        #expect(try harness.results(portmapCall(xid: 57, version: 4, procedure: 11, arguments: Self.rpcb(100_005, 3, "tcp"))) == expected)
        #expect(try harness.results(portmapCall(xid: 58, version: 4, procedure: 11, arguments: Self.rpcb(100_021, 4, "tcp"))) == words(0))
    }

    @Test func answersOverUDPToo() throws {
        let harness = try PortmapHarness(program: PortmapProgram(registry: Self.daemonRegistry()), transport: .udp)
        defer { harness.finish() }
        #expect(try harness.exchange(portmapCall(xid: 60, version: 2, procedure: 3, arguments: words(100_005, 3, 17, 0))) == successHeader(60) + words(20048))
        #expect(try harness.results(portmapCall(xid: 61, version: 2, procedure: 1, arguments: words(100_024, 1, 17, 700))) == words(1))
    }
}
