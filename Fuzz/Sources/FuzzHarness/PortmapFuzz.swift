import NIOCore
import NIOEmbedded
import ONCRPC
import RPCBind
import XDR

/// Fuzz target `portmap`: the embedded portmapper (PMAP v2, rpcbind v3 and v4).
///
/// Input: one flags byte, then calls until the input ends (at most 32):
///
///     flags    bit 0: the caller is not on this machine (SET and UNSET refused)
///              bit 1: the call came over UDP
///              bit 2: the portmapper was reached over IPv6
///     call     version byte (2 + byte % 3), procedure byte,
///              arguments (16-bit length, bytes)
///
/// Besides the replies, every call checks that the arguments' message
/// types round-trip and that the table keeps its rules (one mapping per
/// program, version and netid; inet mappings have a universal address of
/// their family).
public enum PortmapFuzz {
    static let maximumCalls = 32

    /// What the daemon registers: NFS, MOUNT and NLM on loopback, over both families.
    public static let initialEntries: [PortmapEntry] = [
        PortmapEntry(program: 100_003, version: 3, netid: "tcp", address: "127.0.0.1.8.1", owner: "p2pfs"),
        PortmapEntry(program: 100_003, version: 3, netid: "tcp6", address: "::1.8.1", owner: "p2pfs"),
        PortmapEntry(program: 100_005, version: 1, netid: "tcp", address: "127.0.0.1.8.1", owner: "p2pfs"),
        PortmapEntry(program: 100_005, version: 3, netid: "tcp", address: "127.0.0.1.8.1", owner: "p2pfs"),
        PortmapEntry(program: 100_021, version: 4, netid: "tcp", address: "0.0.0.0.8.1", owner: "p2pfs"),
        PortmapEntry(program: 100_021, version: 4, netid: "udp", address: "0.0.0.0.8.1", owner: "unknown"),
        PortmapEntry(program: 200_000, version: 1, netid: "local", address: "/run/p2pfs.sock", owner: "superuser"),
    ]

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let program = PortmapProgram(registry: PortmapRegistry(entries: Self.initialEntries), now: { 1_700_000_000 })
        var caller = FuzzCaller()
        caller.credentials = .none
        if flags & 1 != 0 {
            caller.remoteAddress = try! SocketAddress(ipAddress: "192.0.2.7", port: 900)
        }
        if flags & 2 != 0 {
            caller.transport = .udp
            caller.connectionID = 0
        }
        if flags & 4 != 0 {
            caller.localAddress = try! SocketAddress(ipAddress: "::1", port: 111)
            if flags & 1 == 0 {
                caller.remoteAddress = try! SocketAddress(ipAddress: "::1", port: 900)
            }
        }

        var calls = 0
        while !input.isEmpty && calls < Self.maximumCalls {
            calls += 1
            let version = 2 + UInt32(input.byte() % 3)
            let procedure = UInt32(input.byte())
            let arguments = input.chunk()
            try Self.checkArguments(arguments)
            let reply = try caller.call(program, version: version, procedure: procedure, arguments: arguments)
            try Self.check(reply, version: version, procedure: procedure)
            try Self.checkTable(program.snapshot)
        }
    }

    static func checkArguments(_ arguments: ByteBuffer) throws(FuzzPropertyViolation) {
        try Self.roundTrip(PortmapMapping.self, arguments)
        try Self.roundTrip(RPCBMapping.self, arguments)
        try Self.roundTrip(RPCBAddressEntry.self, arguments)
        var bytes = arguments
        if let list = try? XDRLinkedList.decode(RPCBMapping.self, from: &bytes, limit: 64) {
            try fuzzRoundTrip(
                list, "rpcblist", encode: { list, buffer in XDRLinkedList.encode(list, into: &buffer) },
                decode: { try XDRLinkedList.decode(RPCBMapping.self, from: &$0, limit: 64) }
            )
        }
        bytes = arguments
        if let text = try? bytes.readXDRString(limit: 1024), let address = UniversalAddress(text) {
            try fuzzCheck(UniversalAddress(address.description) == address, "universal address \(text) does not round-trip: \(address)")
            if let host = UniversalAddress(host: address.host, port: address.port) {
                try fuzzCheck(host == address, "universal address \(address) changes when rebuilt from its parts")
            }
        }
    }

    static func roundTrip<T: XDRCodable & Equatable>(_: T.Type, _ bytes: ByteBuffer) throws(FuzzPropertyViolation) {
        var bytes = bytes
        guard let value = try? T(xdr: &bytes) else { return }
        try fuzzRoundTrip(value, "\(T.self)", encode: { value, buffer in value.encode(into: &buffer) }, decode: { try T(xdr: &$0) })
    }

    static func check(_ reply: FuzzCaller.Reply, version: UInt32, procedure: UInt32) throws(FuzzPropertyViolation) {
        guard reply.isSuccess else { return }
        var results = FuzzResultsReader(reply.results, "portmap v\(version) procedure \(procedure)")
        if version == 2 {
            switch Portmap.V2Procedure(rawValue: procedure) {
            case .set?, .unset?:
                _ = try results.bool()
            case .getPort?:
                let port = try results.uint32()
                try fuzzCheck(port <= 65535, "GETPORT answered port \(port)")
            case .dump?:
                _ = try results.decode { try XDRLinkedList.decode(PortmapMapping.self, from: &$0) }
            default:
                break
            }
        } else {
            switch Portmap.RPCBProcedure(rawValue: procedure) {
            case .set?, .unset?:
                _ = try results.bool()
            case .getAddr?, .getVersAddr?:
                let address = try results.string()
                try fuzzCheck(address.isEmpty || address.utf8.count <= 1024, "GETADDR answered \(address.utf8.count) bytes")
            case .dump?:
                _ = try results.decode { try XDRLinkedList.decode(RPCBMapping.self, from: &$0) }
            case .getTime?:
                _ = try results.uint32()
            case .getAddrList?:
                let entries = try results.decode { try XDRLinkedList.decode(RPCBAddressEntry.self, from: &$0) }
                for entry in entries {
                    try fuzzCheck(UniversalAddress(entry.address) != nil, "GETADDRLIST answered \(entry.address)")
                }
            default:
                break
            }
        }
        try results.end()
    }

    static func checkTable(_ registry: PortmapRegistry) throws(FuzzPropertyViolation) {
        var keys = Set<String>()
        for entry in registry.entries {
            try fuzzCheck(keys.insert("\(entry.program)/\(entry.version)/\(entry.netid)").inserted, "two mappings for \(entry)")
            try fuzzCheck(!entry.netid.isEmpty && !entry.address.isEmpty, "a mapping without netid or address: \(entry)")
            if PortmapProtocol(netid: entry.netid) != nil {
                guard let address = UniversalAddress(entry.address) else {
                    throw FuzzPropertyViolation("inet mapping with an unparsable address: \(entry)")
                }
                try fuzzCheck(address.isIPv6 == entry.netid.hasSuffix("6"), "mapping of the wrong family: \(entry)")
            }
        }
    }
}
