import NIOCore
import NIOEmbedded
import Namespace
import ONCRPC
import PeerProtocol
import XDR

/// Fuzz target `peer`: the peer protocol as a stranger on the LAN speaks it.
///
/// Input: a selector byte, then
///
///  - selector < 0x80: one message of type `Message(rawValue: selector % count)`
///    decoded from the rest, which must round-trip (decode, encode, decode
///    equal). A CATALOG page is then merged into a namespace with this
///    node's own catalog, as a client does with a peer's, and the result
///    walked: every listed name must look up to the node listed.
///  - selector >= 0x80: calls to `PeerProgram` until the input ends (at most 32):
///
///        selector bit 0: closed network (a network key)
///                 bit 1: this node offers nothing (no catalog)
///                 bit 2: the directory knows alive peers
///        call     kind byte: bits 0-1: 0, 1 a call, 2 the real handshake
///                            (HELLO with challenge, AUTHENTICATE with proof),
///                            3 the connection closes; bit 2: connection 1 or 2
///                 for a call: procedure byte, arguments (16-bit length, bytes)
///
///    On a closed network a connection that did not complete the handshake
///    must get nothing but the handshake: PEER_DENIED for CHANGES, CATALOG,
///    PEERS, READ and HASH, and a HELLO reply without name, addresses or generations.
public enum PeerFuzz {
    public enum Message: UInt8, CaseIterable {
        case helloArguments, helloReply, authenticateArguments, changesArguments, changesReply
        case catalogArguments, catalogResult, peersReply, readArguments, readResult, nodeInfo
        case hashArguments, hashResult
    }

    public static let networkKey = FuzzPeers.networkKey
    public static let localNode = FuzzPeers.localNode
    public static let caller = FuzzPeers.caller
    static let alivePeers: [PeerDirectory.Entry] = [
        PeerDirectory.Entry(info: NodeInfo(identity: FuzzNamespace.beta, roles: [.server], addresses: [PeerAddress(host: "192.0.2.2", port: 17476)]), state: .alive),
        PeerDirectory.Entry(info: caller, state: .unreachable),
    ]
    static let maximumCalls = 32

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let selector = input.byte()
        if selector < 0x80 {
            let message = Message.allCases[Int(selector) % Message.allCases.count]
            try Self.decode(message, input.rest())
        } else {
            try Self.calls(flags: selector, &input)
        }
    }

    // MARK: Messages

    static func decode(_ message: Message, _ bytes: ByteBuffer) throws(FuzzPropertyViolation) {
        switch message {
        case .helloArguments: try Self.roundTrip(HelloArguments.self, bytes)
        case .helloReply: try Self.roundTrip(HelloReply.self, bytes)
        case .authenticateArguments: try Self.roundTrip(AuthenticateArguments.self, bytes)
        case .changesArguments: try Self.roundTrip(ChangesArguments.self, bytes)
        case .changesReply: try Self.roundTrip(ChangesReply.self, bytes)
        case .catalogArguments: try Self.roundTrip(CatalogArguments.self, bytes)
        case .peersReply: try Self.roundTrip(PeersReply.self, bytes)
        case .readArguments: try Self.roundTrip(ReadArguments.self, bytes)
        case .nodeInfo: try Self.roundTrip(NodeInfo.self, bytes)
        case .hashArguments: try Self.roundTrip(HashArguments.self, bytes)
        case .hashResult: try Self.roundTrip(HashResult.self, bytes)
        case .catalogResult:
            try Self.roundTrip(CatalogResult.self, bytes)
            var bytes = bytes
            if case .page(let page)? = try? CatalogResult(xdr: &bytes) {
                try Self.merge(page.entries)
            }
        case .readResult:
            var bytes = bytes
            guard let value = try? ReadResult(xdr: &bytes) else { return }
            try fuzzRoundTrip(value, "ReadResult", encode: Self.encode, decode: { try ReadResult(xdr: &$0) })
        }
    }

    static func roundTrip<T: XDRCodable & Equatable>(_: T.Type, _ bytes: ByteBuffer) throws(FuzzPropertyViolation) {
        var bytes = bytes
        guard let value = try? T(xdr: &bytes) else { return }
        try fuzzRoundTrip(value, "\(T.self)", encode: { value, buffer in value.encode(into: &buffer) }, decode: { try T(xdr: &$0) })
    }

    /// `read_res` as the server sends it: the head, then the data as the bulk part.
    static func encode(_ result: ReadResult, into buffer: inout ByteBuffer) {
        switch result {
        case .ok(let reply):
            reply.encodeHead(into: &buffer)
            buffer.writeXDRFixedOpaque(reply.data)
        case .failed(let status):
            buffer.writeXDREnum(status)
        }
    }

    /// Merges a stranger's catalog with this node's own and walks the result.
    static func merge(_ entries: [CatalogEntry]) throws(FuzzPropertyViolation) {
        let stranger = SourceCatalog(
            origin: caller.identity, generation: 1, entries: entries, reader: FuzzMemoryReader(files: [:]), isLocal: false
        )
        let snapshot = NamespaceMerger().merge(
            [FuzzNamespace.alphaCatalog, stranger], generation: 2, previous: FuzzNamespace.readyStore.current, now: FuzzNamespace.now
        )
        try Self.walk(snapshot)
    }

    /// Every node reachable from the root is listed once, under a name that
    /// looks up to it, with a fileid that resolves to it.
    public static func walk(_ snapshot: NamespaceSnapshot) throws(FuzzPropertyViolation) {
        var queue = [snapshot.root]
        var seen: Set<FileID> = [snapshot.root.fileID]
        while let directory = queue.popLast() {
            var previous: FileID?
            for child in snapshot.children(of: directory) {
                try fuzzCheck(seen.insert(child.fileID).inserted, "\(child.fileID) (\(child.name)) is listed twice")
                if let previous {
                    try fuzzCheck(previous < child.fileID, "children of \(snapshot.path(of: directory)) out of fileid order")
                }
                previous = child.fileID
                try fuzzCheck(snapshot.parent(of: child).fileID == directory.fileID, "\(child.name)'s parent is not the directory listing it")
                try fuzzCheck(
                    snapshot.node(child.fileID).map { snapshot.path(of: $0) } == snapshot.path(of: child), "\(child.name)'s fileid resolves elsewhere"
                )
                let found: NamespaceNode
                do {
                    found = try snapshot.lookup(child.name, in: directory)
                } catch {
                    throw FuzzPropertyViolation(
                        "\"\(snapshot.path(of: directory))\" lists \"\(child.name)\" (\(child.name.utf8.count) bytes), which LOOKUP answers \(error)"
                    )
                }
                try fuzzCheck(found.fileID == child.fileID, "LOOKUP of \(child.name) finds another node")
                if child.isDirectory {
                    queue.append(child)
                }
            }
        }
        try fuzzCheck(seen.count == snapshot.count, "\(snapshot.count) nodes, \(seen.count) reachable")
    }

    // MARK: The program

    static func calls(flags: UInt8, _ input: inout FuzzInput) throws(FuzzPropertyViolation) {
        let closed = flags & 1 != 0
        // Over TLS: the server knows the caller's certified id.
        let overTLS = flags & 8 != 0
        let catalog: SourceCatalog? = flags & 2 == 0 ? FuzzNamespace.alphaCatalog : nil
        let directory = PeerDirectory()
        if flags & 4 != 0 {
            directory.publish(Self.alivePeers)
        }
        let program = PeerProgram(
            localNode: { Self.localNode }, catalog: { catalog }, directory: directory, statistics: PeerServerStatistics(),
            access: closed ? PeerAccessControl(key: Self.networkKey) : .open
        )
        var rpc = FuzzCaller()
        rpc.remoteAddress = try! SocketAddress(ipAddress: "192.0.2.3", port: 40000)
        rpc.localAddress = try! SocketAddress(ipAddress: "192.0.2.1", port: 17476)
        rpc.credentials = .none
        if overTLS {
            rpc.peerIdentity = RPCPeerIdentity(peerKeyDigest: FuzzPeers.callerKeyDigest, localKeyDigest: FuzzPeers.localKeyDigest)
        }
        // Connections that completed the real handshake, as the server must see them.
        var authorized: Set<UInt64> = []

        var calls = 0
        while !input.isEmpty && calls < Self.maximumCalls {
            calls += 1
            let kind = input.byte()
            rpc.connectionID = UInt64(1 + (kind >> 2) & 1)
            switch kind & 3 {
            case 2:
                if closed {
                    try Self.handshake(program, &rpc)
                    authorized.insert(rpc.connectionID)
                }
            case 3:
                program.connectionClosed(rpc.connectionID)
                authorized.remove(rpc.connectionID)
            default:
                let procedure = UInt32(input.byte())
                let arguments = input.chunk()
                let reply = try rpc.call(program, version: PeerProcedure.version, procedure: procedure, arguments: arguments)
                let isAuthorized = !closed || authorized.contains(rpc.connectionID)
                try Self.check(reply, procedure: procedure, arguments: arguments, authorized: isAuthorized, catalog: catalog)
                // Over TLS, a HELLO claiming another id than the certificate's
                // is denied, whatever else it holds.
                var claimed = arguments
                if overTLS, procedure == PeerProcedure.hello.rawValue, reply.isSuccess, let hello = try? HelloArguments(xdr: &claimed),
                    hello.protocolVersion == PeerProcedure.version, hello.sender.identity.id != Self.caller.identity.id
                {
                    var results = reply.results
                    try fuzzCheck(
                        results.readInteger(as: UInt32.self) == PeerStatus.denied.rawValue,
                        "HELLO claiming \(hello.sender.identity.id) over a TLS session of \(Self.caller.identity.id) was answered"
                    )
                }
                // What takes a connection's authorization away again.
                var decoded = arguments
                if procedure == PeerProcedure.hello.rawValue, let hello = try? HelloArguments(xdr: &decoded),
                    hello.protocolVersion == PeerProcedure.version, !hello.challenge.isEmpty
                {
                    authorized.remove(rpc.connectionID)
                }
                decoded = arguments
                if procedure == PeerProcedure.authenticate.rawValue, (try? AuthenticateArguments(xdr: &decoded)) != nil {
                    authorized.remove(rpc.connectionID)
                }
            }
        }
    }

    /// The network-key handshake as a node holding the key performs it; it
    /// must succeed, whatever the connection saw before.
    static func handshake(_ program: PeerProgram, _ rpc: inout FuzzCaller) throws(FuzzPropertyViolation) {
        // B as the caller computes it: its own key digest, then the responder's.
        let binding = rpc.peerIdentity.map { $0.peerKeyDigest + $0.localKeyDigest } ?? []
        let handshake = PeerHandshake.Caller(key: Self.networkKey, me: Self.caller.identity.id, channelBinding: binding)
        var arguments = ByteBuffer()
        handshake.helloArguments(sender: Self.caller).encode(into: &arguments)
        let hello = try rpc.call(program, version: PeerProcedure.version, procedure: PeerProcedure.hello.rawValue, arguments: arguments)
        var results = FuzzResultsReader(hello.results, "handshake HELLO")
        try fuzzCheck(try results.uint32() == PeerStatus.ok.rawValue, "the handshake's HELLO was refused")
        let reply = try results.decode { try HelloReply(xdr: &$0) }
        let proof: [UInt8]
        do {
            proof = try handshake.answer(reply, expecting: Self.localNode.identity.id)
        } catch {
            throw FuzzPropertyViolation("the responder's proof did not check: \(error)")
        }
        arguments.clear()
        AuthenticateArguments(proof: proof).encode(into: &arguments)
        let authenticate = try rpc.call(program, version: PeerProcedure.version, procedure: PeerProcedure.authenticate.rawValue, arguments: arguments)
        results = FuzzResultsReader(authenticate.results, "handshake AUTHENTICATE")
        try fuzzCheck(try results.uint32() == PeerStatus.ok.rawValue, "a correct proof was refused")
        try results.end()
    }

    static func check(
        _ reply: FuzzCaller.Reply, procedure: UInt32, arguments: ByteBuffer, authorized: Bool, catalog: SourceCatalog?
    ) throws(FuzzPropertyViolation) {
        guard reply.isSuccess, let known = PeerProcedure(rawValue: procedure) else { return }
        var results = FuzzResultsReader(reply.results, "peer \(known)")
        var arguments = arguments
        switch known {
        case .null:
            break
        case .hello:
            if try results.decode({ try $0.readXDREnum(PeerStatus.self) }) == .ok {
                let hello = try results.decode { try HelloReply(xdr: &$0) }
                if !authorized {
                    try fuzzCheck(
                        hello.responder.identity.name.isEmpty && hello.responder.addresses.isEmpty && hello.catalogGeneration == 0
                            && hello.peersGeneration == 0,
                        "HELLO on a connection without the handshake told \(hello)"
                    )
                }
            }
        case .authenticate:
            _ = try results.decode { try $0.readXDREnum(PeerStatus.self) }
        case .changes, .peers:
            let status = try results.decode { try $0.readXDREnum(PeerStatus.self) }
            try fuzzCheck(authorized || status == .denied, "\(known) answered \(status) without the handshake")
            if status == .ok {
                if known == .changes {
                    _ = try results.decode { try ChangesReply(xdr: &$0) }
                } else {
                    _ = try results.decode { try PeersReply(xdr: &$0) }
                }
            }
        case .catalog:
            let start = results.buffer.readableBytes
            let result = try results.decode { try CatalogResult(xdr: &$0) }
            switch result {
            case .failed(let status):
                try fuzzCheck(authorized || status == .denied, "CATALOG answered \(status) without the handshake")
            case .changed:
                try fuzzCheck(authorized, "CATALOG answered CHANGED without the handshake")
            case .page(let page):
                try fuzzCheck(authorized, "CATALOG sent a page without the handshake")
                try fuzzCheck(UInt64(page.entries.count) <= page.totalEntries, "CATALOG page longer than the catalog")
                if let args = try? CatalogArguments(xdr: &arguments) {
                    try fuzzCheck(page.nextCookie == args.cookie + UInt64(page.entries.count), "CATALOG cookie \(args.cookie) + \(page.entries.count) entries gave \(page.nextCookie)")
                    try fuzzCheck(page.isLast == (page.nextCookie == page.totalEntries), "CATALOG eof is \(page.isLast) at \(page.nextCookie) of \(page.totalEntries)")
                    let budget = min(max(Int(args.maximumCount), 1024), PeerLimits.maximumCatalogReply)
                    if page.entries.count > 1 {
                        try fuzzCheck(start <= budget, "CATALOG page of \(start) bytes for a budget of \(budget)")
                    }
                }
                if let catalog {
                    try fuzzCheck(
                        UInt64(page.entries.count) <= page.nextCookie && page.nextCookie <= UInt64(catalog.entries.count),
                        "CATALOG page of \(page.entries.count) entries up to \(page.nextCookie) in a catalog of \(catalog.entries.count)"
                    )
                    let offset = Int(page.nextCookie) - page.entries.count
                    try fuzzCheck(Array(catalog.entries[offset..<Int(page.nextCookie)]) == page.entries, "CATALOG page differs from the catalog")
                }
            }
        case .read:
            let result = try results.decode { try ReadResult(xdr: &$0) }
            switch result {
            case .failed(let status):
                try fuzzCheck(authorized || status == .denied, "READ answered \(status) without the handshake")
            case .ok(let data):
                try fuzzCheck(authorized, "READ sent data without the handshake")
                if let args = try? ReadArguments(xdr: &arguments) {
                    try fuzzCheck(data.data.readableBytes <= min(Int(args.count), PeerLimits.maximumReadSize), "READ of \(args.count) bytes sent \(data.data.readableBytes)")
                }
            }
        case .hash:
            switch try results.decode({ try HashResult(xdr: &$0) }) {
            case .failed(let status):
                try fuzzCheck(authorized || status == .denied, "HASH answered \(status) without the handshake")
            case .ok:
                try fuzzCheck(authorized, "HASH told a hash without the handshake")
            }
        }
        try results.end()
    }
}
