import NFS3
import NIOCore
import NIOEmbedded
import ONCRPC
import XDR

/// Fuzz target `record`: bytes arriving on the NFS listener's TCP
/// connection (or as UDP datagrams).
///
/// Input: one configuration byte, then the byte stream:
///
///     bits 0-1  record size limit: 64, 1024, 64 KiB, 1 MiB + 64 KiB (the NFS listener's)
///     bits 2-4  the stream arrives in reads of: everything, 1, 2, 3, 4, 7, 16 or 100 bytes
///     bit 5     at most one call in progress (else 32, the default)
///     bit 6     datagrams instead: the rest is 16-bit-length-prefixed datagrams
///
/// The stream goes twice through the server's code: once through
/// `RecordMarkingDecoder` directly, every record through `RPCMessage(record:)`
/// and `RPCDispatcher.route` (round-tripping what decodes), and once through
/// the listener's real pipeline (`ByteToMessageHandler(RecordMarkingDecoder)`,
/// `RecordMarkingEncoder`, `RPCServerHandler` over the NFSv3, MOUNT and NLM
/// programs) on an `EmbeddedChannel`, whose output must be well-formed replies.
public enum RecordStreamFuzz {
    static let limits = [64, 1024, 64 * 1024, 1 << 20 + 64 * 1024]
    static let readSizes = [Int.max, 1, 2, 3, 4, 7, 16, 100]

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let configuration = input.byte()
        let limit = Self.limits[Int(configuration & 3)]
        let readSize = Self.readSizes[Int(configuration >> 2) & 7]
        let maximumCallsInProgress = configuration & 0x20 != 0 ? 1 : 32
        let dispatcher = Self.makeDispatcher()
        if configuration & 0x40 != 0 {
            var datagrams: [ByteBuffer] = []
            while !input.isEmpty && datagrams.count < 64 {
                datagrams.append(input.chunk())
            }
            try Self.datagrams(datagrams, dispatcher: dispatcher)
            return
        }
        let stream = input.rest()
        var reads: [ByteBuffer] = []
        var rest = stream
        while rest.readableBytes > 0 {
            reads.append(rest.readSlice(length: min(readSize, rest.readableBytes))!)
        }
        let xids = try Self.decodeDirectly(reads, limit: limit, total: stream.readableBytes, dispatcher: dispatcher)
        try Self.serve(reads, limit: limit, maximumCallsInProgress: maximumCallsInProgress, dispatcher: dispatcher, xids: xids)
    }

    /// The programs of the loopback NFS listener, fresh per input (MOUNT and
    /// NLM keep state).
    static func makeDispatcher() -> RPCDispatcher {
        let store = FuzzNamespace.readyStore
        return RPCDispatcher(programs: [
            NFSv3Program(store: store, configuration: NFSFuzz.configuration),
            MountProgram(store: store, configuration: NFSFuzz.configuration),
            NLMProgram(store: store, callbacks: FuzzNLMCallbacks(answer: 1)),
        ])
    }

    // MARK: The decoder, directly

    /// Returns the first word of every record (the xid, if it is RPC).
    static func decodeDirectly(_ reads: [ByteBuffer], limit: Int, total: Int, dispatcher: RPCDispatcher) throws(FuzzPropertyViolation) -> Set<UInt32> {
        var decoder = RecordMarkingDecoder(maximumRecordSize: limit)
        var buffer = ByteBuffer()
        var records: [ByteBuffer] = []
        do {
            for read in reads {
                var read = read
                buffer.writeBuffer(&read)
                while let record = try decoder.decode(buffer: &buffer) {
                    records.append(record)
                }
            }
            while let record = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
                records.append(record)
            }
        } catch {
            try fuzzCheck(error is RecordMarkingError, "the record decoder threw \(error)")
        }
        var payload = 0
        var xids = Set<UInt32>()
        for record in records {
            try fuzzCheck(record.readableBytes <= limit, "a record of \(record.readableBytes) bytes passed the limit of \(limit)")
            payload += record.readableBytes
            if let xid = record.getInteger(at: record.readerIndex, endianness: .big, as: UInt32.self) {
                xids.insert(xid)
            }
            try Self.checkMessage(record, dispatcher: dispatcher)
        }
        try fuzzCheck(payload + 4 * records.count <= total, "\(records.count) records of \(payload) bytes out of a \(total)-byte stream")
        return xids
    }

    static func checkMessage(_ record: ByteBuffer, dispatcher: RPCDispatcher) throws(FuzzPropertyViolation) {
        var record = record
        let message: RPCMessage
        do {
            message = try RPCMessage(record: &record)
        } catch {
            if let header = RPCDispatcher.reply(to: error) {
                try header.fuzzCheckRoundTrip()
            }
            return
        }
        switch message {
        case .reply(let header, _):
            try header.fuzzCheckRoundTrip()
        case .call(let call):
            var encoded = ByteBuffer()
            call.encode(into: &encoded)
            guard case .call(let again)? = try? RPCMessage(record: &encoded) else {
                throw FuzzPropertyViolation("call \(call.xid) does not decode after encoding")
            }
            try fuzzCheck(
                again.xid == call.xid && again.program == call.program && again.version == call.version
                    && again.procedure == call.procedure && again.credential == call.credential && again.verifier == call.verifier
                    && again.arguments == call.arguments,
                "call \(call.xid) changed in a round trip"
            )
            var body = call.credential.body
            if let parameters = try? AuthSysParameters(xdr: &body) {
                try fuzzRoundTrip(parameters, "AuthSysParameters", encode: { value, buffer in value.encode(into: &buffer) }, decode: { try AuthSysParameters(xdr: &$0) })
            }
            switch dispatcher.route(call) {
            case .refuse(let header):
                try fuzzCheck(header.xid == call.xid, "refusal for xid \(header.xid) of call \(call.xid)")
                try header.fuzzCheckRoundTrip()
            case .deliver(let program, let credentials):
                try fuzzCheck(program.program == call.program && program.versions.contains(call.version), "call for \(call.program) v\(call.version) delivered to \(program.program)")
                try fuzzCheck(
                    call.credential.flavor == RPCAuthFlavor.sys.rawValue || credentials == .none,
                    "AUTH_SYS credentials from a call of flavor \(call.credential.flavor)"
                )
            }
        }
    }

    // MARK: The listener's pipeline

    static func serve(_ reads: [ByteBuffer], limit: Int, maximumCallsInProgress: Int, dispatcher: RPCDispatcher, xids: Set<UInt32>) throws(FuzzPropertyViolation) {
        let channel = EmbeddedChannel()
        channel.remoteAddress = FuzzCaller.clientAddress
        channel.localAddress = FuzzCaller.serverAddress
        do {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: limit)),
                RecordMarkingEncoder(),
                RPCServerHandler(dispatcher: dispatcher, maximumCallsInProgress: maximumCallsInProgress, logger: FuzzCaller.logger),
            ])
            try channel.connect(to: FuzzCaller.clientAddress).wait()
        } catch {
            throw FuzzPropertyViolation("cannot set up the pipeline: \(error)")
        }
        var output = ByteBuffer()
        for read in reads {
            guard channel.isActive else { break }
            do {
                try channel.writeInbound(read)
            } catch {
                break  // the server closed the connection
            }
            channel.embeddedEventLoop.run()
            try Self.drain(channel, into: &output)
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
        try Self.drain(channel, into: &output)

        // What the server wrote: single-fragment records, each a reply to a record it received.
        while output.readableBytes > 0 {
            guard let mark = output.readInteger(endianness: .big, as: UInt32.self) else {
                throw FuzzPropertyViolation("the server wrote \(output.readableBytes) bytes that are not a record mark")
            }
            try fuzzCheck(mark & 0x8000_0000 != 0, "the server wrote a fragment that is not the last")
            guard var record = output.readSlice(length: Int(mark & 0x7FFF_FFFF)) else {
                throw FuzzPropertyViolation("the server's record mark claims \(mark & 0x7FFF_FFFF) bytes, \(output.readableBytes) follow")
            }
            guard case .reply(let header, _)? = try? RPCMessage(record: &record) else {
                throw FuzzPropertyViolation("the server wrote a record that is not a reply")
            }
            try fuzzCheck(xids.contains(header.xid), "the server answered xid \(header.xid), which nobody sent")
        }
    }

    static func drain(_ channel: EmbeddedChannel, into output: inout ByteBuffer) throws(FuzzPropertyViolation) {
        while true {
            let data: IOData?
            do {
                data = try channel.readOutbound(as: IOData.self)
            } catch {
                throw FuzzPropertyViolation("the server wrote something that is not IOData: \(error)")
            }
            guard let data else { return }
            guard case .byteBuffer(var bytes) = data else {
                throw FuzzPropertyViolation("the server wrote a file region")
            }
            output.writeBuffer(&bytes)
        }
    }

    // MARK: Datagrams

    static func datagrams(_ datagrams: [ByteBuffer], dispatcher: RPCDispatcher) throws(FuzzPropertyViolation) {
        let channel = EmbeddedChannel()
        channel.localAddress = FuzzCaller.serverAddress
        do {
            try channel.pipeline.syncOperations.addHandler(RPCDatagramHandler(dispatcher: dispatcher, logger: FuzzCaller.logger))
        } catch {
            throw FuzzPropertyViolation("cannot set up the pipeline: \(error)")
        }
        var xids = Set<UInt32>()
        for datagram in datagrams {
            if let xid = datagram.getInteger(at: datagram.readerIndex, endianness: .big, as: UInt32.self) {
                xids.insert(xid)
            }
            try Self.checkMessage(datagram, dispatcher: dispatcher)
            do {
                try channel.writeInbound(AddressedEnvelope(remoteAddress: FuzzCaller.clientAddress, data: datagram))
            } catch {
                throw FuzzPropertyViolation("the datagram handler failed: \(error)")
            }
            channel.embeddedEventLoop.run()
        }
        while true {
            let envelope: AddressedEnvelope<ByteBuffer>?
            do {
                envelope = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self)
            } catch {
                throw FuzzPropertyViolation("the datagram handler wrote something else: \(error)")
            }
            guard var reply = envelope?.data else { break }
            try fuzzCheck(envelope?.remoteAddress == FuzzCaller.clientAddress, "a datagram reply to someone else")
            guard case .reply(let header, _)? = try? RPCMessage(record: &reply) else {
                throw FuzzPropertyViolation("the server sent a datagram that is not a reply")
            }
            try fuzzCheck(xids.contains(header.xid), "the server answered xid \(header.xid), which nobody sent")
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}
