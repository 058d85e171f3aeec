import Logging
import NIOCore
import NIOPosix
import ONCRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A service the daemon wants findable through the portmapper.
public struct PortmapRegistration: Sendable, Hashable, CustomStringConvertible {
    public var program: UInt32
    public var version: UInt32
    public var `protocol`: PortmapProtocol
    public var port: UInt16
    /// The service's IP address; the wildcard address means "wherever the
    /// client reached the portmapper". An IPv6 host makes the netid tcp6/udp6.
    public var host: String

    public init(program: UInt32, version: UInt32, protocol: PortmapProtocol, port: UInt16, host: String = "0.0.0.0") {
        self.program = program
        self.version = version
        self.protocol = `protocol`
        self.port = port
        self.host = host
    }

    /// The universal address, or nil when `host` is not an IP address.
    public var universalAddress: UniversalAddress? {
        UniversalAddress(host: self.host, port: self.port)
    }

    public var netid: String {
        self.host.contains(":") ? self.protocol.netid6 : self.protocol.netid
    }

    /// The registry entry for this registration.
    public func entry(owner: String) -> PortmapEntry? {
        guard let address = self.universalAddress else { return nil }
        return PortmapEntry(program: self.program, version: self.version, netid: self.netid, address: address.description, owner: owner)
    }

    public var description: String {
        "program \(self.program) version \(self.version) \(self.protocol) port \(self.port)"
    }
}

/// Why the embedded portmapper did not start.
public enum EmbeddedPortmapperError: Error, Equatable, CustomStringConvertible {
    /// Something (usually a system rpcbind) already listens on the port.
    case addressInUse(host: String, port: Int)
    /// Ports below 1024 need root or CAP_NET_BIND_SERVICE.
    case permissionDenied(host: String, port: Int)
    case bindFailed(host: String, port: Int, reason: String)
    /// A registration whose host is not an IP address, or that conflicts with another.
    case invalidRegistration(PortmapRegistration)

    public var description: String {
        switch self {
        case .addressInUse(let host, let port):
            "cannot start the embedded portmapper: \(host):\(port) is already in use (is a system rpcbind running? then use portmap mode 'register' or 'auto')"
        case .permissionDenied(let host, let port):
            "cannot start the embedded portmapper: binding \(host):\(port) needs root or CAP_NET_BIND_SERVICE"
        case .bindFailed(let host, let port, let reason):
            "cannot start the embedded portmapper on \(host):\(port): \(reason)"
        case .invalidRegistration(let registration):
            "invalid portmapper registration: \(registration)"
        }
    }
}

/// The portmapper served by p2pfs itself, on TCP and UDP, for hosts without
/// a running rpcbind: the kernel's `mount -t nfs localhost:/ ...` asks port
/// 111 where NFS and MOUNT are, and this answers.
///
/// Listens on one or more addresses (say 127.0.0.1 and ::1, since
/// "localhost" may resolve to either), all serving one table. Registers
/// itself (program 100000 versions 2 to 4 on TCP and UDP, 3 and 4 only on
/// IPv6) and
/// the daemon's services; more can be added or removed while it runs.
public final class EmbeddedPortmapper: Sendable {
    public struct Configuration: Sendable {
        /// The addresses to listen on, each on TCP and UDP.
        public var hosts: [String]
        /// The port on every host. With 0, the first host gets an ephemeral
        /// port and the others the same one.
        public var port: Int
        /// The owner recorded for the daemon's registrations (shown by `rpcinfo -s`).
        public var owner: String

        public init(hosts: [String], port: Int = Portmap.port, owner: String = "p2pfs") {
            self.hosts = hosts
            self.port = port
            self.owner = owner
        }

        public init(host: String = "127.0.0.1", port: Int = Portmap.port, owner: String = "p2pfs") {
            self.init(hosts: [host], port: port, owner: owner)
        }

        /// The first host.
        public var host: String { self.hosts.first ?? "127.0.0.1" }
    }

    public let program: PortmapProgram
    public let configuration: Configuration
    /// Where the first host listens (TCP and UDP), with the actual port when 0 was asked for.
    public var localAddress: SocketAddress { self.localAddresses[0] }
    /// Where each host listens, in the order of `configuration.hosts`.
    public let localAddresses: [SocketAddress]
    private let servers: [RPCServer]

    private init(program: PortmapProgram, configuration: Configuration, servers: [RPCServer]) {
        self.program = program
        self.configuration = configuration
        self.servers = servers
        self.localAddresses = servers.map(\.localAddress)
    }

    public static func start(
        configuration: Configuration = Configuration(),
        registrations: [PortmapRegistration] = [],
        group: any EventLoopGroup,
        logger: Logger
    ) async throws -> EmbeddedPortmapper {
        var registry = PortmapRegistry()
        for registration in registrations {
            guard let entry = registration.entry(owner: configuration.owner), registry.set(entry) else {
                throw EmbeddedPortmapperError.invalidRegistration(registration)
            }
        }
        let program = PortmapProgram(registry: registry)
        let dispatcher = RPCDispatcher(programs: [program])
        var servers: [RPCServer] = []
        var port = configuration.port
        for host in configuration.hosts.isEmpty ? ["127.0.0.1"] : configuration.hosts {
            do {
                let server = try await Self.listen(host: host, port: port, dispatcher: dispatcher, group: group, logger: logger)
                servers.append(server)
                port = server.localAddress.port ?? port
            } catch {
                for server in servers {
                    await server.close()
                }
                throw error
            }
        }

        // The portmapper's own mappings, at the addresses it actually bound.
        program.withRegistry { registry in
            for server in servers {
                guard let own = UniversalAddress(server.localAddress) else { continue }
                // Version 2 speaks of IPv4 ports only, so IPv6 gets 3 and 4 (as in rpcbind).
                for version in Portmap.versions where version > 2 || !own.isIPv6 {
                    for transport in PortmapProtocol.allCases {
                        registry.set(
                            PortmapEntry(
                                program: Portmap.program, version: version,
                                netid: own.isIPv6 ? transport.netid6 : transport.netid,
                                address: own.description, owner: Portmap.superuser
                            )
                        )
                    }
                }
            }
        }
        logger.info(
            "embedded portmapper listening",
            metadata: ["addresses": "\(servers.map { "\($0.localAddress)" })", "registrations": "\(registrations.map(\.description))"]
        )
        return EmbeddedPortmapper(program: program, configuration: configuration, servers: servers)
    }

    private static func listen(
        host: String, port: Int, dispatcher: RPCDispatcher, group: any EventLoopGroup, logger: Logger
    ) async throws -> RPCServer {
        do {
            return try await RPCServer.start(
                configuration: RPCServer.Configuration(
                    host: host,
                    port: port,
                    maximumRecordSize: 64 * 1024,
                    maximumCallsInProgressPerConnection: 16,
                    servesUDP: true
                ),
                dispatcher: dispatcher,
                group: group,
                logger: logger
            )
        } catch let error as IOError {
            switch error.errnoCode {
            case EADDRINUSE: throw EmbeddedPortmapperError.addressInUse(host: host, port: port)
            case EACCES, EPERM: throw EmbeddedPortmapperError.permissionDenied(host: host, port: port)
            default: throw EmbeddedPortmapperError.bindFailed(host: host, port: port, reason: "\(error)")
            }
        } catch {
            throw EmbeddedPortmapperError.bindFailed(host: host, port: port, reason: "\(error)")
        }
    }

    /// Adds a mapping; false when it is invalid or (program, version, netid) is taken.
    @discardableResult
    public func register(_ registration: PortmapRegistration) -> Bool {
        guard let entry = registration.entry(owner: self.configuration.owner) else { return false }
        return self.program.withRegistry { $0.set(entry) }
    }

    /// Removes the mappings of (program, version, protocol) on IPv4 and IPv6;
    /// false when there were none.
    @discardableResult
    public func unregister(program: UInt32, version: UInt32, protocol: PortmapProtocol) -> Bool {
        self.program.withRegistry { registry in
            let removed4 = registry.unset(program: program, version: version, netid: `protocol`.netid, caller: Portmap.superuser)
            let removed6 = registry.unset(program: program, version: version, netid: `protocol`.netid6, caller: Portmap.superuser)
            return removed4 || removed6
        }
    }

    /// Stops listening. Connections already open end when their clients close
    /// them or the event loop group shuts down.
    public func close() async {
        for server in self.servers {
            await server.close()
        }
    }
}
