import NFS3
import NIOCore

/// How the NFSv4.1 program presents the namespace and bounds its state.
public struct NFS4Configuration: Sendable {
    /// Owners, fsid and transfer sizes: the same as NFSv3 shows, so a file
    /// looks the same through either version.
    public var presentation: NFS3Configuration
    /// The lease (RFC 8881 §8.3): a client silent for longer loses its
    /// opens and locks.
    public var lease: TimeAmount
    public var limits: NFS4State.Limits
    /// Identifies this server to clients (EXCHANGE_ID's server owner):
    /// the same across restarts so a client knows it is the same server.
    public var serverOwner: [UInt8]

    public init(
        presentation: NFS3Configuration, lease: TimeAmount = .seconds(90), limits: NFS4State.Limits = NFS4State.Limits(),
        serverOwner: [UInt8] = Array("p2pfs".utf8)
    ) {
        self.presentation = presentation
        self.lease = lease
        self.limits = limits
        self.serverOwner = serverOwner
    }
}
