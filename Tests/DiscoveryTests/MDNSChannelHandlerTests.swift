@testable import Discovery
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// Events the handler reported, collected for assertions.
final class EventLog: Sendable {
    private let events = Mutex<[DiscoveryEvent]>([])
    func append(_ event: DiscoveryEvent) { events.withLock { $0.append(event) } }
    var all: [DiscoveryEvent] { events.withLock { $0 } }
}

@Suite("mDNS channel handler (EmbeddedChannel, no sockets)")
struct MDNSChannelHandlerTests {
    let peer = try! SocketAddress(ipAddress: "198.18.0.2", port: 5353)

    func makeChannel(log: EventLog, advertisement: ServiceAdvertisement? = anna()) throws -> (EmbeddedChannel, MDNSChannelHandler) {
        let handler = MDNSChannelHandler(
            group: MDNSChannelHandler.ipv4Group, interfaceIndex: 3, advertisement: advertisement, onEvent: { log.append($0) })
        let channel = EmbeddedChannel(handler: handler)
        return (channel, handler)
    }

    func sent(_ channel: EmbeddedChannel) throws -> [(SocketAddress, DNSMessage)] {
        var result: [(SocketAddress, DNSMessage)] = []
        while let envelope = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) {
            result.append((envelope.remoteAddress, try DNSMessage(decoding: Array(envelope.data.readableBytesView))))
        }
        return result
    }

    func inbound(_ message: DNSMessage, from source: SocketAddress, interface: Int = 3) throws -> AddressedEnvelope<ByteBuffer> {
        let info = NIOPacketInfo(destinationAddress: MDNSChannelHandler.ipv4Group, interfaceIndex: interface)
        return AddressedEnvelope(
            remoteAddress: source, data: ByteBuffer(bytes: try message.encoded()),
            metadata: .init(ecnState: .transportNotCapable, packetInfo: info))
    }

    /// Silent until Start; then the probes, announcements and browse
    /// queries go to 224.0.0.251:5353 on the timers of the state machines.
    @Test func startsOnlyWhenToldAndFollowsTheTimers() throws {
        let log = EventLog()
        let (channel, _) = try makeChannel(log: log)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try sent(channel).isEmpty)
        channel.pipeline.fireUserInboundEventTriggered(MDNSChannelHandler.Start())
        let first = try sent(channel)
        #expect(first.map(\.0) == [MDNSChannelHandler.ipv4Group, MDNSChannelHandler.ipv4Group])
        #expect(first.map(\.1.authorities.isEmpty) == [false, true])  // a probe, then the browse query
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(750))
        let announcement = try sent(channel).map(\.1).filter(\.isResponse)
        #expect(announcement.map(\.answers) == [anna().records()])
        _ = try channel.finish()
    }

    /// The interface's addresses changed: the new ones announced (the old
    /// withdrawn); none left: a goodbye, browsing goes on; some again: probed anew.
    @Test func followsTheInterfacesAddresses() throws {
        let log = EventLog()
        let (channel, handler) = try makeChannel(log: log)
        channel.pipeline.fireUserInboundEventTriggered(MDNSChannelHandler.Start())
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        _ = try sent(channel)

        let moved = anna(addresses: [[198, 18, 0, 5]])
        handler.update(moved)
        let readdressed = try sent(channel).map(\.1)
        #expect(readdressed.map(\.answers) == [
            [DNSResourceRecord(name: anna().hostName, data: .a([198, 18, 0, 1]), ttl: 0, cacheFlush: true)], moved.records(),
        ])
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try sent(channel).map(\.1).filter(\.isResponse).map(\.answers) == [moved.records()])

        handler.update(nil)
        #expect(try sent(channel).map(\.1.answers) == [moved.records(ttl: 0)])
        // Still browsing: queries go on, and questions about us stay unanswered.
        try channel.writeInbound(try inbound(.query([DNSQuestion(name: moved.hostName, type: .a)]), from: peer))
        #expect(try sent(channel).isEmpty)

        handler.update(anna())
        let restarted = try sent(channel).map(\.1)
        #expect(restarted.count == 1 && !restarted[0].isResponse && !restarted[0].authorities.isEmpty)  // a probe
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try sent(channel).map(\.1).filter(\.isResponse).map(\.answers) == [anna().records()])
        _ = try channel.finish()
    }

    @Test func answersQueriesAndDropsBadPackets() throws {
        let log = EventLog()
        let (channel, handler) = try makeChannel(log: log)
        channel.pipeline.fireUserInboundEventTriggered(MDNSChannelHandler.Start())
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        _ = try sent(channel)

        let legacy = try SocketAddress(ipAddress: "198.18.0.2", port: 40000)
        try channel.writeInbound(try inbound(.query([DNSQuestion(name: anna().hostName, type: .a)]), from: legacy))
        let reply = try sent(channel)
        #expect(reply.map(\.0) == [legacy])

        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: [0, 0, 0x84, 0, 0, 1])))
        // The same query arriving on interface 4 is not ours to answer.
        try channel.writeInbound(try inbound(.query([DNSQuestion(name: anna().hostName, type: .a)]), from: peer, interface: 4))
        #expect(try sent(channel).isEmpty)
        #expect(handler.droppedPackets == 2)
        _ = try channel.finish()
    }

    @Test func reportsFoundNodesAndSaysGoodbye() throws {
        let log = EventLog()
        let (channel, handler) = try makeChannel(log: log)
        channel.pipeline.fireUserInboundEventTriggered(MDNSChannelHandler.Start())
        let bob = ServiceAdvertisement(
            nodeName: "bob", nodeID: String(repeating: "b", count: 32), port: 7071, protocolVersion: 1, roles: ["offer"],
            addresses: [[198, 18, 0, 2]])
        try channel.writeInbound(try inbound(.response(answers: bob.records()), from: peer))
        #expect(log.all.map { if case .added(let found) = $0 { found.nodeID } else { "other" } } == [bob.nodeID])
        // Our own announcement, looped back, is not reported as a peer.
        try channel.writeInbound(try inbound(.response(answers: anna().records()), from: peer))
        #expect(log.all.count == 1)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        _ = try sent(channel)
        _ = handler.stop()
        let goodbye = try sent(channel)
        #expect(goodbye.map(\.0) == [MDNSChannelHandler.ipv4Group])
        #expect(goodbye.first?.1.answers == anna().records(ttl: 0))
        _ = try channel.finish()
    }
}
