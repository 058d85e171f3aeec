import NIOCore
import ONCRPC
import PeerProtocol

extension Daemon {
    /// Calls NULL of the control program (served on both listeners) on the
    /// peer listener and on every NFS address, so that "ready" (systemd's
    /// READY=1) means a client connecting now gets an answer.
    public func checkListenersAnswer(timeout: TimeAmount = .seconds(10)) async throws(DaemonConfigurationError) {
        let (peer, nfs) = (self.peerAddress, self.nfsAddresses)
        // The peer listener speaks TLS: this node asks it as a peer would.
        var targets: [(SocketAddress, PeerTLS?, (String) -> DaemonConfigurationError)] = []
        if let peer { targets.append((peer, self.tls, { .listen(address: "\(peer)", reason: $0) })) }
        for address in nfs { targets.append((address, nil, { .nfs(address: "\(address)", reason: $0) })) }
        for (bound, tls, failure) in targets {
            do {
                let address = try Self.reachable(bound)
                let client: RPCClient
                if let tls, let host = address.ipAddress, let port = address.port {
                    client = try await PeerConnection.connect(
                        to: PeerAddress(host: host, port: port), group: self.group, connectTimeout: timeout, tls: tls, logger: self.logger
                    ).client
                } else {
                    client = try await RPCClient.connect(to: address, group: self.group, logger: self.logger)
                }
                defer { client.close() }
                _ = try await client.call(
                    program: ControlProcedure.program, version: ControlProcedure.version, procedure: ControlProcedure.null.rawValue, timeout: timeout
                )
            } catch {
                throw failure("does not answer: \(Self.describe(error))")
            }
        }
    }

    /// A wildcard address as the loopback address of its family.
    static func reachable(_ address: SocketAddress) throws -> SocketAddress {
        guard let port = address.port else { return address }
        switch address.ipAddress {
        case "0.0.0.0": return try SocketAddress(ipAddress: "127.0.0.1", port: port)
        case "::": return try SocketAddress(ipAddress: "::1", port: port)
        default: return address
        }
    }
}
