import NIOCore
import NIOPosix
import P2PFSDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The metrics listener on a real loopback socket, read by a plain
/// blocking client (not NIO), as a scraper would.
@Suite struct MetricsHTTPServerTests {
    struct SocketError: Error {
        var call: String
        var errno: Int32
    }

    /// Sends `request` to 127.0.0.1:`port` and reads until the server
    /// closes (bounded by a 10 s receive timeout).
    static func fetch(port: Int, _ request: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", errno: errno) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketError(call: "connect", errno: errno) }
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else { throw SocketError(call: "send", errno: errno) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func servesTheRenderedTextOnLoopbackAndStopsOnClose() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let text = "p2pfs_loopback_total 42\n"
        let server = try await MetricsHTTPServer.start(host: "127.0.0.1", port: 0, group: group, render: { Array(text.utf8) })
        let port = try #require(server.localAddress.port)

        let response = try Self.fetch(port: port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(response)")
        #expect(response.hasSuffix("\r\n\r\n" + text), "\(response)")

        let missing = try Self.fetch(port: port, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(missing.hasPrefix("HTTP/1.1 404 Not Found\r\n"), "\(missing)")

        await server.close()
        try await group.shutdownGracefully()
        // Nothing listens any more.
        #expect(throws: (any Error).self) { try Self.fetch(port: port, "GET /metrics HTTP/1.1\r\n\r\n") }
    }
}
