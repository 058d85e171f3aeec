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

/// Whether a port can be bound, as far as a quick trial bind tells.
public enum PortAvailability: Sendable, Equatable, CustomStringConvertible {
    case free
    /// Something listens there already (TCP or UDP).
    case inUse
    /// Ports below 1024 need root or CAP_NET_BIND_SERVICE.
    case permissionDenied
    case unknown(String)

    public var description: String {
        switch self {
        case .free: "free"
        case .inUse: "in use"
        case .permissionDenied: "not bindable without root or CAP_NET_BIND_SERVICE"
        case .unknown(let reason): "unknown (\(reason))"
        }
    }
}

/// Looks at the portmapper port before the daemon decides what to do
/// (see `PortmapPlan`): does a portmapper answer there, and could p2pfs bind it?
public struct SystemRPCBindProbe: Sendable {
    /// What the probe found.
    public struct Result: Sendable, Equatable {
        public var portmapperAnswers: Bool
        public var portAvailability: PortAvailability

        public init(portmapperAnswers: Bool, portAvailability: PortAvailability) {
            self.portmapperAnswers = portmapperAnswers
            self.portAvailability = portAvailability
        }
    }

    public var host: String
    public var port: Int
    /// Bounds the connection attempt and the NULL call together.
    public var timeout: TimeAmount

    public init(host: String = "127.0.0.1", port: Int = Portmap.port, timeout: TimeAmount = .milliseconds(1500)) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    public func probe(group: any EventLoopGroup, logger: Logger) async -> Result {
        let answers = await self.portmapperAnswers(group: group, logger: logger)
        return Result(portmapperAnswers: answers, portAvailability: self.portAvailability())
    }

    /// True when a NULL call to program 100000 version 2 over TCP is answered
    /// with success within `timeout`.
    public func portmapperAnswers(group: any EventLoopGroup, logger: Logger) async -> Bool {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(self.host, port: self.port)
        } catch {
            return false
        }
        let client: RPCClient
        do {
            client = try await RPCClient.connect(to: address, group: group, connectTimeout: self.timeout, logger: logger)
        } catch {
            logger.debug("no portmapper at \(self.host):\(self.port): \(error)")
            return false
        }
        defer { client.close() }
        do {
            _ = try await client.call(
                program: Portmap.program, version: 2, procedure: Portmap.V2Procedure.null.rawValue, timeout: self.timeout
            )
            return true
        } catch {
            logger.debug("portmapper at \(self.host):\(self.port) did not answer NULL: \(error)")
            return false
        }
    }

    /// Trial-binds `host:port` on TCP and UDP (with SO_REUSEADDR, as the
    /// server will) and closes the sockets again.
    public func portAvailability() -> PortAvailability {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: self.host, port: self.port)
        } catch {
            return .unknown("\(self.host) is not an IP address")
        }
        for type in [SOCK_STREAM, SOCK_DGRAM] {
            let result = Self.trialBind(address, type: Int32(type.rawValue))
            guard result == .free else { return result }
        }
        return .free
    }

    private static func trialBind(_ address: SocketAddress, type: Int32) -> PortAvailability {
        let family = address.protocol.rawValue
        let fd = socket(family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .unknown("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = address.withSockAddr { pointer, length in bind(fd, pointer, socklen_t(length)) }
        guard rc != 0 else { return .free }
        switch errno {
        case EADDRINUSE: return .inUse
        case EACCES, EPERM: return .permissionDenied
        case let code: return .unknown("bind: \(String(cString: strerror(code)))")
        }
    }
}
