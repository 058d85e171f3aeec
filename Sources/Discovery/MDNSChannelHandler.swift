import NIOCore

/// Carries one interface's mDNS traffic, for one address family, between
/// a datagram channel and the responder and browser state machines.
///
/// It sends nothing until it receives `MDNSChannelHandler.Start`, which the
/// caller fires once the socket's multicast interface is set: a probe must
/// never leave by the default route. Undecodable packets are counted and
/// dropped; the state machines see only what decoded.
public final class MDNSChannelHandler: ChannelInboundHandler {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// Fired (as a user inbound event) when the socket is ready to send.
    public struct Start: Sendable {
        public init() {}
    }

    public static let ipv4Group = try! SocketAddress(ipAddress: "224.0.0.251", port: 5353)
    public static let ipv6Group = try! SocketAddress(ipAddress: "ff02::fb", port: 5353)
    /// RFC 6762 §17: a message is at most 9000 bytes.
    public static let maximumMessageSize = 9000

    private let group: SocketAddress
    private let interfaceIndex: Int?
    private var responder: MDNSResponder?
    private var browser: MDNSBrowser
    private let onEvent: @Sendable (DiscoveryEvent) -> Void
    private var origin: NIODeadline?
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Packets that did not decode, or came in on another interface.
    public private(set) var droppedPackets = 0

    /// - Parameters:
    ///   - group: the multicast group and port answers and queries go to.
    ///   - interfaceIndex: packets whose packet info names another
    ///     interface are dropped (a socket bound to the wildcard address
    ///     hears every interface).
    ///   - advertisement: what to announce, or nil to browse only.
    public init(
        group: SocketAddress, interfaceIndex: Int?, advertisement: ServiceAdvertisement?, browserLimits: MDNSBrowser.Limits = .init(),
        onEvent: @escaping @Sendable (DiscoveryEvent) -> Void
    ) {
        self.group = group
        self.interfaceIndex = interfaceIndex
        self.responder = advertisement.map(MDNSResponder.init)
        self.browser = MDNSBrowser(limits: browserLimits)
        self.onEvent = onEvent
    }

    /// Pins an instance whose node answered a HELLO (see `MDNSBrowser.pin`).
    public func pin(_ name: DNSName) { browser.pin(name) }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Start, origin == nil else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        origin = context.eventLoop.now
        let now = elapsed(context)
        perform(responder?.start(now: now) ?? [], context: context)
        perform(browser.start(now: now), context: context)
        reschedule(context)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard origin != nil else { return }
        if let wanted = interfaceIndex, let info = envelope.metadata?.packetInfo, info.interfaceIndex != wanted {
            droppedPackets += 1
            return
        }
        guard envelope.data.readableBytes <= Self.maximumMessageSize,
            let message = try? DNSMessage(decoding: Array(envelope.data.readableBytesView))
        else {
            droppedPackets += 1
            return
        }
        let now = elapsed(context)
        if var responder {
            let outputs = responder.receive(message, sourcePort: UInt16(envelope.remoteAddress.port ?? 0), now: now)
            self.responder = responder
            perform(outputs, replyTo: envelope.remoteAddress, context: context)
        }
        perform(browser.receive(message, now: now), context: context)
        reschedule(context)
    }

    /// Sends the goodbye (TTL 0) for everything announced; the caller
    /// closes the channel once the returned future completes.
    public func stop() -> EventLoopFuture<Void>? {
        guard let context, origin != nil, var responder else { return nil }
        timer?.cancel()
        let outputs = responder.stop(now: elapsed(context))
        self.responder = responder
        let promise = context.eventLoop.makePromise(of: Void.self)
        perform(outputs, context: context, promise: promise)
        if outputs.isEmpty { promise.succeed() }
        return promise.futureResult
    }

    /// Changes what this socket announces after the interface's addresses
    /// changed: new addresses are announced (a goodbye for the withdrawn
    /// ones), nil says goodbye and goes on browsing only, and an
    /// advertisement where there was none starts probing for it.
    public func update(_ advertisement: ServiceAdvertisement?) {
        guard let context, origin != nil else {
            // Not started: the start announces whatever is set now.
            self.responder = advertisement.map(MDNSResponder.init)
            return
        }
        let now = elapsed(context)
        switch (self.responder, advertisement) {
        case (.some(var responder), .some(let advertisement)) where responder.phase != .stopped:
            let outputs = responder.replaceAddresses(advertisement.addresses, now: now)
            self.responder = responder
            perform(outputs, context: context)
        case (.some(var responder), .none):
            // Kept, stopped: our own goodbye looping back is still ours.
            let outputs = responder.stop(now: now)
            self.responder = responder
            perform(outputs, context: context)
        case (_, .some(let advertisement)):
            var responder = MDNSResponder(advertisement: advertisement)
            let outputs = responder.start(now: now)
            self.responder = responder
            perform(outputs, context: context)
        case (.none, .none):
            return
        }
        reschedule(context)
    }

    // MARK: Plumbing

    private func elapsed(_ context: ChannelHandlerContext) -> Duration {
        .nanoseconds(Int64(context.eventLoop.now.uptimeNanoseconds - (origin ?? context.eventLoop.now).uptimeNanoseconds))
    }

    private func perform(
        _ outputs: [MDNSResponder.Output], replyTo source: SocketAddress? = nil, context: ChannelHandlerContext,
        promise: EventLoopPromise<Void>? = nil
    ) {
        for output in outputs {
            switch output {
            case .multicast(let message): send(message, to: group, context: context, promise: promise)
            case .unicastReply(let message):
                if let source { send(message, to: source, context: context, promise: promise) }
            case .renamed(let instance, let host): onEvent(.renamed(instance: instance, host: host))
            }
        }
        context.flush()
    }

    private func perform(_ outputs: [MDNSBrowser.Output], context: ChannelHandlerContext) {
        // Our own announcements loop back (multicast loop is on, for other
        // listeners on this host); they are not a peer.
        let ownID = responder?.advertisement.nodeID
        let ownName = responder?.advertisement.instanceName
        for output in outputs {
            switch output {
            case .multicast(let message): send(message, to: group, context: context, promise: nil)
            case .added(let instance) where instance.nodeID != ownID: onEvent(.added(instance))
            case .updated(let instance) where instance.nodeID != ownID: onEvent(.updated(instance))
            case .removed(let name) where name != ownName: onEvent(.removed(name))
            case .added, .updated, .removed: continue
            }
        }
        context.flush()
    }

    private func send(_ message: DNSMessage, to destination: SocketAddress, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard let bytes = try? message.encoded(limit: Self.maximumMessageSize) else {
            promise?.fail(DNSError.messageTooLarge(size: Self.maximumMessageSize + 1, limit: Self.maximumMessageSize))
            return
        }
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: destination, data: buffer)), promise: promise)
    }

    /// Arms one timer for the earliest deadline of either state machine.
    private func reschedule(_ context: ChannelHandlerContext) {
        timer?.cancel()
        guard let origin else { return }
        let deadlines = [responder?.nextDeadline, browser.nextDeadline].compactMap { $0 }
        guard let next = deadlines.min() else { return }
        let nanoseconds = max(0, next.components.seconds * 1_000_000_000 + next.components.attoseconds / 1_000_000_000)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: origin + .nanoseconds(nanoseconds)) {
            loopBound.value.fire(contextBound.value)
        }
    }

    private func fire(_ context: ChannelHandlerContext) {
        let now = elapsed(context)
        if var responder {
            let outputs = responder.tick(now: now)
            self.responder = responder
            perform(outputs, context: context)
        }
        perform(browser.tick(now: now), context: context)
        reschedule(context)
    }
}
