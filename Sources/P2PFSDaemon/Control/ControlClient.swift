import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import XDR

/// Talks to a running daemon's control program (for `p2pfs peers`/`ls`).
///
/// A node's peer listener speaks only TLS: there the tool presents
/// `identity` (`ControlIdentity`: this machine's node, or a throwaway key).
/// With a network key (a closed network) the connection then runs the
/// network-key handshake, as a tool: that id with no roles, which the
/// daemon does not record as a node (`PeerProgram`), so a tool presenting a
/// real node's identity changes nothing the daemon knows of that node.
public struct ControlClient: Sendable {
    public let address: PeerAddress
    public let networkKey: NetworkKey?
    /// The identity presented on a node's peer listener (TLS); nil for the
    /// loopback NFS address (plaintext, this machine only).
    public let identity: ControlIdentity?

    public init(address: PeerAddress, networkKey: NetworkKey? = nil, identity: ControlIdentity? = nil) {
        self.address = address
        self.networkKey = networkKey
        self.identity = identity
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
        guard let identity = self.identity else {
            let client = try await RPCClient.connect(
                to: try self.address.socketAddress(), group: group, connectTimeout: .seconds(3), maximumRecordSize: 256 << 20,
                logger: logger
            )
            defer { client.close() }
            return try await client.call(
                program: ControlProcedure.program, version: ControlProcedure.version, procedure: procedure.rawValue,
                arguments: arguments, timeout: timeout
            )
        }
        let credentials = identity.credentials
        let connection = try await PeerConnection.connect(
            to: self.address, group: group, connectTimeout: .seconds(3), maximumRecordSize: 256 << 20,
            tls: try PeerTLS(credentials: credentials), logger: logger
        )
        defer { connection.close() }
        do {
            if let key = self.networkKey {
                let tool = NodeInfo(identity: NodeIdentity(id: credentials.nodeID, name: "p2pfs-cli"), roles: [], addresses: [])
                _ = try await connection.authenticate(as: tool, key: key, expecting: nil, timeout: timeout).get()
            }
            return try await connection.client.call(
                program: ControlProcedure.program, version: ControlProcedure.version, procedure: procedure.rawValue,
                arguments: arguments, timeout: timeout
            )
        } catch {
            throw connection.explained(error)
        }
    }
}
