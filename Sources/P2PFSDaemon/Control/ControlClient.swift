import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import XDR

/// Talks to a running daemon's control program (for `p2pfs peers`/`ls`).
///
/// With a network key (a node's peer listener on a closed network) the
/// connection first runs the network-key handshake, as a tool: a random id,
/// no roles, so the daemon does not take it for a node.
public struct ControlClient: Sendable {
    public let address: PeerAddress
    public let networkKey: NetworkKey?

    public init(address: PeerAddress, networkKey: NetworkKey? = nil) {
        self.address = address
        self.networkKey = networkKey
    }

    public func status(timeout: TimeAmount = .seconds(5)) async throws -> ControlStatus {
        var results = try await self.call(.status, arguments: ByteBuffer(), timeout: timeout)
        return try ControlStatus(xdr: &results)
    }

    public func list(_ path: String, timeout: TimeAmount = .seconds(10)) async throws -> ControlListResult {
        var arguments = ByteBuffer()
        arguments.writeXDRName(path)
        var results = try await self.call(.list, arguments: arguments, timeout: timeout)
        return try ControlListResult(xdr: &results)
    }

    private func call(_ procedure: ControlProcedure, arguments: ByteBuffer, timeout: TimeAmount) async throws -> ByteBuffer {
        let group = MultiThreadedEventLoopGroup.singleton
        let client = try await RPCClient.connect(
            to: try self.address.socketAddress(), group: group, connectTimeout: .seconds(3), maximumRecordSize: 256 << 20,
            logger: Logger(label: "p2pfs.control")
        )
        defer { client.close() }
        if let key = self.networkKey {
            let tool = NodeInfo(identity: NodeIdentity(id: .random(), name: "p2pfs-cli"), roles: [], addresses: [])
            _ = try await PeerConnection(address: self.address, client: client).authenticate(
                as: tool, key: key, expecting: nil, timeout: timeout
            )
        }
        return try await client.call(
            program: ControlProcedure.program, version: ControlProcedure.version, procedure: procedure.rawValue,
            arguments: arguments, timeout: timeout
        )
    }
}
