import Logging
import NIOCore
import NIOPosix
import Namespace
import ONCRPC
@testable import P2PFSDaemon
import PeerProtocol
import XDR

/// Fuzz target `control`: the control program (`p2pfs peers`, `p2pfs ls`),
/// served on loopback and, on the peer listener, to the LAN.
///
/// Input: a selector byte, then
///
///  - selector < 0x80: one message (`Message(rawValue: selector % count)`)
///    decoded from the rest, which must round-trip: the replies `p2pfs`
///    decodes from whatever node it asks.
///  - selector >= 0x80: calls to `ControlProgram` until the input ends
///    (at most 16): procedure byte, arguments (16-bit length, bytes).
///    Selector bit 0: the peer listener of a closed network, where a
///    connection that did not prove the key gets AUTH_TOOWEAK for all but
///    NULL; bit 1: a node that presents no namespace.
public enum ControlFuzz {
    public enum Message: UInt8, CaseIterable {
        case status, listResult, node, entry
    }

    static let maximumCalls = 16

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let selector = input.byte()
        if selector < 0x80 {
            let message = Message.allCases[Int(selector) % Message.allCases.count]
            switch message {
            case .status: try Self.roundTrip(ControlStatus.self, input.rest())
            case .listResult: try Self.roundTrip(ControlListResult.self, input.rest())
            case .node: try Self.roundTrip(ControlNode.self, input.rest())
            case .entry: try Self.roundTrip(ControlEntry.self, input.rest())
            }
        } else {
            try Self.calls(flags: selector, &input)
        }
    }

    static func roundTrip<T: XDRCodable & Equatable>(_: T.Type, _ bytes: ByteBuffer) throws(FuzzPropertyViolation) {
        var bytes = bytes
        guard let value = try? T(xdr: &bytes) else { return }
        try fuzzRoundTrip(value, "\(T.self)", encode: { value, buffer in value.encode(into: &buffer) }, decode: { try T(xdr: &$0) })
    }

    static func calls(flags: UInt8, _ input: inout FuzzInput) throws(FuzzPropertyViolation) {
        let closed = flags & 1 != 0
        let directory = PeerDirectory()
        directory.publish([
            PeerDirectory.Entry(
                info: NodeInfo(identity: FuzzNamespace.beta, roles: [.server], addresses: [PeerAddress(host: "192.0.2.2", port: 17476)]),
                state: .alive, catalogEntries: 4, lastSeenSecondsAgo: 1.5
            )
        ])
        directory.heard(
            NodeInfo(identity: NodeIdentity(id: NodeID(high: 9, low: 9), name: "laptop"), roles: [.client], addresses: []), observedHost: "192.0.2.9"
        )
        var program = ControlProgram(
            localNode: { FuzzPeers.localNode }, store: flags & 2 == 0 ? FuzzNamespace.readyStore : nil, directory: directory,
            statistics: PeerServerStatistics(), cache: BlockCache(capacity: 1 << 20)
        )
        if closed {
            program.access = PeerAccessControl(key: FuzzPeers.networkKey)
        }
        let context = RPCCallContext(
            eventLoop: MultiThreadedEventLoopGroup.singleton.any(), allocator: ByteBufferAllocator(), transport: .tcp,
            remoteAddress: try! SocketAddress(ipAddress: "192.0.2.3", port: 40000), localAddress: nil, credentials: .none,
            connectionID: 1, logger: Logger(label: "p2pfs.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        var calls = 0
        while !input.isEmpty && calls < Self.maximumCalls {
            calls += 1
            let procedure = UInt32(input.byte())
            let arguments = input.chunk()
            let xid = UInt32(calls)
            let call = RPCCall(xid: xid, program: program.program, version: ControlProcedure.version, procedure: procedure, arguments: arguments)
            guard case .done(let outcome) = program.handle(call, context: context) else {
                throw FuzzPropertyViolation("the control program answered later")
            }
            let results = try FuzzReply.check(outcome, xid: xid)
            if closed && procedure != ControlProcedure.null.rawValue {
                guard case .authError(.tooWeak) = outcome else {
                    throw FuzzPropertyViolation("control procedure \(procedure) answered \(outcome) without the handshake")
                }
                continue
            }
            guard case .success = outcome else { continue }
            var reader = FuzzResultsReader(results, "control procedure \(procedure)")
            switch ControlProcedure(rawValue: procedure) {
            case .status?:
                _ = try reader.decode { try ControlStatus(xdr: &$0) }
            case .list?:
                _ = try reader.decode { try ControlListResult(xdr: &$0) }
            default:
                break
            }
            try reader.end()
        }
    }
}
