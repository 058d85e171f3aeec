import NIOCore
import NIOHTTP1

/// Answers `GET /metrics` with the exposition `render` produces, and
/// anything else with 404 (405 for another method on /metrics).
///
/// Requests are small by construction: NIO's HTTP parser bounds the head
/// (80 KiB), a body longer than `maximumBodySize` gets 413 and the
/// connection closed, and a connection silent for `idleTimeout` is closed.
/// `render` runs on the event loop: it only formats counters already in
/// memory, without I/O.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let path = "/metrics"
    static let maximumBodySize = 4096
    /// The Prometheus text format, version 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let render: @Sendable () -> [UInt8]
    private var request: HTTPRequestHead?
    private var bodyBytes = 0
    private var refused = false

    init(render: @escaping @Sendable () -> [UInt8]) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.request = head
            self.bodyBytes = 0
            self.refused = false
        case .body(let body):
            self.bodyBytes += body.readableBytes
            if self.bodyBytes > Self.maximumBodySize && !self.refused {
                self.refused = true
                self.respond(
                    context: context, status: .payloadTooLarge, body: "request body over \(Self.maximumBodySize) bytes\n",
                    keepAlive: false
                )
            }
        case .end:
            guard let request = self.request, !self.refused else { return }
            self.request = nil
            self.answer(request, context: context)
        }
    }

    private func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path == Self.path else {
            self.respond(context: context, status: .notFound, body: "not found: this server serves only \(Self.path)\n", keepAlive: request.isKeepAlive)
            return
        }
        switch request.method {
        case .GET, .HEAD:
            let exposition = self.render()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: Self.contentType)
            headers.add(name: "Content-Length", value: "\(exposition.count)")
            let body = request.method == .GET ? context.channel.allocator.buffer(bytes: exposition) : nil
            self.write(context: context, status: .ok, headers: headers, body: body, keepAlive: request.isKeepAlive)
        default:
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, HEAD")
            self.respond(
                context: context, status: .methodNotAllowed, body: "method \(request.method) not allowed: use GET\n",
                keepAlive: request.isKeepAlive, headers: headers
            )
        }
    }

    private func respond(
        context: ChannelHandlerContext, status: HTTPResponseStatus, body: String, keepAlive: Bool, headers: HTTPHeaders = HTTPHeaders()
    ) {
        var headers = headers
        let buffer = context.channel.allocator.buffer(string: body)
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
        self.write(context: context, status: status, headers: headers, body: buffer, keepAlive: keepAlive)
    }

    private func write(context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer?, keepAlive: Bool) {
        var headers = headers
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if let body {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// A request the parser rejects (NIO's error handler has answered 400)
    /// ends the connection: nothing after it can be framed.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> {
        self.eventLoop.makePromise(of: Void.self)
    }
}
