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
        /// The owner recorded for the daemon's registrations (shown by
        /// `rpcinfo -s`); they are pinned (see `PortmapRegistry`).
        public var owner: String
        /// A UNIX domain socket to serve too, where libtirpc tools
        /// (`rpcinfo -p`, rpc.statd) and the kernel look first:
        /// `Portmap.unixSocketPath` on a real system.
        public var unixSocketPath: String?
        /// Where other services' registrations are kept across a restart
        /// of the daemon (rpcbind's "warm start"): rpc.statd and the
        /// kernel's lock manager register once and would otherwise be
        /// unfindable after p2pfs restarts. Somewhere under /run: they must
        /// not outlive a reboot.
        public var warmStartFile: String?

        public init(
            hosts: [String], port: Int = Portmap.port, owner: String = "p2pfs", unixSocketPath: String? = nil,
            warmStartFile: String? = nil
        ) {
            self.hosts = hosts
            self.port = port
            self.owner = owner
            self.unixSocketPath = unixSocketPath
            self.warmStartFile = warmStartFile
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
        registry.pinnedOwner = configuration.owner
        for registration in registrations {
            guard let entry = registration.entry(owner: configuration.owner), registry.set(entry) else {
                throw EmbeddedPortmapperError.invalidRegistration(registration)
            }
        }
        if let file = configuration.warmStartFile {
            let restored = WarmStart.load(file).filter { $0.program != Portmap.program && $0.owner != configuration.owner }
            for entry in restored {
                registry.set(entry)
            }
            if !restored.isEmpty {
                logger.info("embedded portmapper restored \(restored.count) registrations of other services")
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

        var configuration = configuration
        if let path = configuration.unixSocketPath {
            do {
                servers.append(try await Self.listen(unixSocketPath: path, dispatcher: dispatcher, group: group, logger: logger))
            } catch {
                // TCP and UDP still serve; only tools that insist on the
                // socket (rpcinfo -p without a host) will not find it.
                logger.warning("embedded portmapper not serving \(path): \(error)")
                configuration.unixSocketPath = nil
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

    /// Serves the UNIX domain socket at `path` (readable and writable by
    /// everyone, as rpcbind's is; SET and UNSET rules still apply), unless
    /// another portmapper already answers there.
    private static func listen(
        unixSocketPath path: String, dispatcher: RPCDispatcher, group: any EventLoopGroup, logger: Logger
    ) async throws -> RPCServer {
        if let client = try? await RPCClient.connect(
            to: try SocketAddress(unixDomainSocketPath: path), group: group, connectTimeout: .seconds(1), logger: logger
        ) {
            client.close()
            throw EmbeddedPortmapperError.bindFailed(host: path, port: 0, reason: "another portmapper serves \(path)")
        }
        do {
            let server = try await RPCServer.start(
                configuration: RPCServer.unixSocket(path), dispatcher: dispatcher, group: group, logger: logger
            )
            chmod(path, 0o666)
            return server
        } catch {
            throw EmbeddedPortmapperError.bindFailed(host: path, port: 0, reason: "\(error)")
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
            let owner = self.configuration.owner
            let removed4 = registry.unset(program: program, version: version, netid: `protocol`.netid, caller: owner)
            let removed6 = registry.unset(program: program, version: version, netid: `protocol`.netid6, caller: owner)
            return removed4 || removed6
        }
    }

    /// Stops listening. Connections already open end when their clients close
    /// them or the event loop group shuts down.
    public func close() async {
        if let file = self.configuration.warmStartFile {
            let others = self.program.snapshot.entries.filter {
                $0.program != Portmap.program && $0.owner != self.configuration.owner
            }
            WarmStart.save(others, to: file)
        }
        for server in self.servers {
            await server.close()
        }
        if let path = self.configuration.unixSocketPath {
            unlink(path)
        }
    }
}

/// Other services' registrations, saved when the embedded portmapper stops
/// and restored when it starts again: one line per mapping, fields
/// separated by spaces ("program version netid address owner").
enum WarmStart {
    static func save(_ entries: [PortmapEntry], to path: String) {
        let text = entries.map { "\($0.program) \($0.version) \($0.netid) \($0.address) \($0.owner)\n" }.joined()
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "w") else { return }
        let written = fputs(text, file) >= 0
        fclose(file)
        if written { rename(temporary, path) } else { unlink(temporary) }
    }

    static func load(_ path: String) -> [PortmapEntry] {
        guard let file = fopen(path, "r") else { return [] }
        defer {
            fclose(file)
            unlink(path)
        }
        var entries: [PortmapEntry] = []
        var line = [CChar](repeating: 0, count: 512)
        while entries.count < 1024, fgets(&line, Int32(line.count), file) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let fields = text.split(separator: " ").map { $0.trimmingCharacters(in: "\n") }
            guard fields.count == 5, let program = UInt32(fields[0]), let version = UInt32(fields[1]) else { continue }
            entries.append(PortmapEntry(program: program, version: version, netid: fields[2], address: fields[3], owner: fields[4]))
        }
        return entries
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in characters: String) -> String {
        String(self.filter { !characters.contains($0) })
    }
}
