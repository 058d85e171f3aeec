import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import P2PFSDaemon

/// The `--metrics` endpoint as an HTTP client sees it, bytes in and out of
/// the real pipeline (NIO's parser, then `MetricsHTTPHandler`).
@Suite struct MetricsHTTPHandlerTests {
    static let exposition = "# TYPE p2pfs_test_total counter\np2pfs_test_total 3\n"

    /// A parsed response: status code, headers (lowercased names), body.
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    static func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: { Array(Self.exposition.utf8) }))
        // Active, as an accepted connection is, so closing it shows.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        #expect(channel.isActive)
        return channel
    }

    /// Sends `request` and returns everything written back, as text.
    static func exchange(_ channel: EmbeddedChannel, _ request: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: request))
        var output = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            output += String(buffer: buffer)
        }
        return output
    }

    static func parse(_ text: String) throws -> Response {
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = try #require(parts.first).split(separator: "\r\n").map(String.init)
        let statusLine = try #require(head.first).split(separator: " ")
        #expect(statusLine.first == "HTTP/1.1")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            headers[pair[0].lowercased()] = pair.count > 1 ? pair[1] : ""
        }
        return Response(status: try #require(Int(statusLine[1])), headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test func getMetricsAnswersTheExposition() throws {
        let channel = try Self.makeChannel()
        let response = try Self.parse(try Self.exchange(channel, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.headers["content-length"] == "\(Self.exposition.utf8.count)")
        #expect(response.body == Self.exposition)
        #expect(channel.isActive, "keep-alive: the connection stays open for the next scrape")
        // And a second request on the same connection.
        let again = try Self.parse(try Self.exchange(channel, "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(again.status == 200)
        #expect(again.body == Self.exposition)
        _ = try? channel.finish()
    }

    @Test func headHasTheLengthButNoBody() throws {
        let channel = try Self.makeChannel()
        let response = try Self.parse(try Self.exchange(channel, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(response.status == 200)
        #expect(response.headers["content-length"] == "\(Self.exposition.utf8.count)")
        #expect(response.body == "")
        _ = try? channel.finish()
    }

    @Test func otherPathsAreNotFound() throws {
        for path in ["/", "/metrics/", "/metricsx", "/favicon.ico"] {
            let channel = try Self.makeChannel()
            let response = try Self.parse(try Self.exchange(channel, "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n"))
            #expect(response.status == 404, "\(path)")
            #expect(response.body.contains("only /metrics"), "\(path): \(response.body)")
            #expect(!response.body.contains("p2pfs_test_total"))
            _ = try? channel.finish()
        }
    }

    @Test func otherMethodsAreRefusedNamingTheAllowedOnes() throws {
        let channel = try Self.makeChannel()
        let response = try Self.parse(
            try Self.exchange(channel, "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi")
        )
        #expect(response.status == 405)
        #expect(response.headers["allow"] == "GET, HEAD")
        #expect(!response.body.contains("p2pfs_test_total"))
        _ = try? channel.finish()
    }

    @Test func connectionCloseIsHonoured() throws {
        let channel = try Self.makeChannel()
        let response = try Self.parse(try Self.exchange(channel, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        #expect(response.status == 200)
        #expect(response.headers["connection"] == "close")
        #expect(!channel.isActive)
    }

    @Test func aLargeBodyIsRefusedAndTheConnectionClosed() throws {
        let channel = try Self.makeChannel()
        let size = MetricsHTTPHandler.maximumBodySize + 1
        let request = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n" + String(repeating: "a", count: size)
        let response = try Self.parse(try Self.exchange(channel, request))
        #expect(response.status == 413)
        #expect(!channel.isActive)
    }

    @Test func anOversizedHeadIsABadRequestAndTheConnectionClosed() throws {
        let channel = try Self.makeChannel()
        let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: \(String(repeating: "a", count: 100 * 1024))\r\n\r\n"
        let output: String
        do {
            output = try Self.exchange(channel, request)
        } catch {
            // The parser's error also travels the pipeline; the answer was written first.
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            output = text
        }
        let response = try Self.parse(output)
        #expect(response.status == 400)
        #expect(!response.body.contains("p2pfs_test_total"))
        #expect(!channel.isActive)
    }
}
