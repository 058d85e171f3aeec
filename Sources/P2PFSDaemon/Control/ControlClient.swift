import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import XDR

/// Talks to a running daemon's control program (for `p2pfs peers`/`ls`).
///
/// A node's peer listener speaks only TLS: there the tool connects with a
/// throwaway key and certificate of its own. With a network key (a closed
/// network) the connection then runs the network-key handshake, as a tool:
/// the id of that throwaway key, no roles, so the daemon does not take it
/// for a node.
public struct ControlClient: Sendable {
    public let address: PeerAddress
    public let networkKey: NetworkKey?
    /// True for a node's peer listener (TLS), false for the loopback NFS
    /// address (plaintext, this machine only).
    public let viaPeerListener: Bool

    public init(address: PeerAddress, networkKey: NetworkKey? = nil, viaPeerListener: Bool = false) {
        self.address = address
        self.networkKey = networkKey
        self.viaPeerListener = viaPeerListener
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
        let logger = Logger(label: "p2pfs.control")
        let client: RPCClient
        if self.viaPeerListener {
            let credentials = try NodeCredentials.generate()
            let connection = try await PeerConnection.connect(
                to: self.address, group: group, connectTimeout: .seconds(3), maximumRecordSize: 256 << 20,
                tls: try PeerTLS(credentials: credentials), logger: logger
            )
            client = connection.client
            if let key = self.networkKey {
                let tool = NodeInfo(identity: NodeIdentity(id: credentials.nodeID, name: "p2pfs-cli"), roles: [], addresses: [])
                _ = try await connection.authenticate(as: tool, key: key, expecting: nil, timeout: timeout).get()
            }
        } else {
            client = try await RPCClient.connect(
                to: try self.address.socketAddress(), group: group, connectTimeout: .seconds(3), maximumRecordSize: 256 << 20,
                logger: logger
            )
        }
        defer { client.close() }
        return try await client.call(
            program: ControlProcedure.program, version: ControlProcedure.version, procedure: procedure.rawValue,
            arguments: arguments, timeout: timeout
        )
    }
}
