import Logging
import NIOCore
import ONCRPC
import XDR

/// Asks a portmapper where a program is registered (PMAP v2 GETPORT) over
/// one connection kept open between questions.
///
/// The daemon uses it to notice when another service took one of its
/// registrations: the kernel's lock manager, started by the first NFS mount
/// on this machine, replaces every program 100021 entry with its own.
public final class PortmapLookup: Sendable {
    private let client: RPCClient
    private let timeout: TimeAmount

    private init(client: RPCClient, timeout: TimeAmount) {
        self.client = client
        self.timeout = timeout
    }

    public static func connect(
        host: String = "127.0.0.1",
        port: Int = Portmap.port,
        group: any EventLoopGroup,
        timeout: TimeAmount = .seconds(2),
        logger: Logger
    ) async throws -> PortmapLookup {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let client = try await RPCClient.connect(to: address, group: group, connectTimeout: timeout, logger: logger)
        return PortmapLookup(client: client, timeout: timeout)
    }

    public var isActive: Bool { self.client.isActive }

    /// The registered port, 0 when nothing is registered.
    public func port(program: UInt32, version: UInt32, protocol: PortmapProtocol) async throws -> UInt16 {
        var arguments = ByteBuffer()
        PortmapMapping(program: program, version: version, protocol: `protocol`, port: 0).encode(into: &arguments)
        var results = try await self.client.call(
            program: Portmap.program, version: 2, procedure: Portmap.V2Procedure.getPort.rawValue,
            arguments: arguments, timeout: self.timeout
        )
        let port = try results.readXDRUInt32()
        return UInt16(truncatingIfNeeded: port)
    }

    public func close() {
        self.client.close()
    }
}
