import NIOCore
import XDR

/// Routes calls to programs and produces the RPC-level refusals.
///
/// A plain value: the decisions of RFC 5531 §9 (RPC version, program,
/// version range, credential flavor) in one place, testable without sockets.
public struct RPCDispatcher: Sendable {
    /// What to do with one call.
    public enum Route: Sendable {
        case deliver(any RPCProgram, RPCCredentials)
        case refuse(RPCReplyHeader)
    }

    private var programs: [UInt32: [any RPCProgram]] = [:]

    public init(programs: [any RPCProgram] = []) {
        for program in programs {
            self.register(program)
        }
    }

    public mutating func register(_ program: any RPCProgram) {
        self.programs[program.program, default: []].append(program)
        self.programs[program.program]!.sort { $0.versions.lowerBound < $1.versions.lowerBound }
    }

    /// Every (program, version) pair served, for rpcbind registration.
    public var registrations: [(program: UInt32, version: UInt32)] {
        self.programs.keys.sorted().flatMap { number in
            self.programs[number]!.flatMap { program in program.versions.map { (number, $0) } }
        }
    }

    /// Tells every program that a connection closed.
    public func connectionClosed(_ connectionID: UInt64) {
        for candidates in self.programs.values {
            for program in candidates {
                program.connectionClosed(connectionID)
            }
        }
    }

    public func route(_ call: RPCCall) -> Route {
        let credentials: RPCCredentials
        switch call.credential.flavor {
        case RPCAuthFlavor.none.rawValue:
            credentials = .none
        case RPCAuthFlavor.sys.rawValue:
            var body = call.credential.body
            guard let parameters = try? AuthSysParameters(xdr: &body), body.readableBytes == 0 else {
                return .refuse(RPCReplyHeader(xid: call.xid, status: .denied(.authError(.badCredential))))
            }
            credentials = .sys(parameters)
        default:
            return .refuse(RPCReplyHeader(xid: call.xid, status: .denied(.authError(.rejectedCredential))))
        }

        guard let candidates = self.programs[call.program] else {
            return .refuse(RPCReplyHeader(xid: call.xid, status: .accepted(verifier: .none, status: .programUnavailable)))
        }
        guard let program = candidates.first(where: { $0.versions.contains(call.version) }) else {
            let low = candidates.map(\.versions.lowerBound).min()!
            let high = candidates.map(\.versions.upperBound).max()!
            return .refuse(
                RPCReplyHeader(xid: call.xid, status: .accepted(verifier: .none, status: .programMismatch(low: low, high: high)))
            )
        }
        return .deliver(program, credentials)
    }

    /// The reply for a record that failed to decode, or nil when the record
    /// carries nothing to answer (RFC 5531 lets a server drop such messages).
    public static func reply(to error: RPCMessageDecodingError) -> RPCReplyHeader? {
        switch error {
        case .unreadable, .invalidMessageType, .malformedReplyHeader:
            return nil
        case .rpcVersionMismatch(let xid, _):
            return RPCReplyHeader(xid: xid, status: .denied(.rpcMismatch(low: RPCCall.rpcVersion, high: RPCCall.rpcVersion)))
        case .malformedCallHeader(let xid, let cause):
            // A credential longer than 400 bytes or cut short is a bad credential;
            // anything else that breaks the header is garbage.
            if case .lengthLimitExceeded = cause {
                return RPCReplyHeader(xid: xid, status: .denied(.authError(.badCredential)))
            }
            return RPCReplyHeader(xid: xid, status: .accepted(verifier: .none, status: .garbageArguments))
        }
    }

    /// The reply header for a program's outcome.
    public static func header(xid: UInt32, outcome: RPCOutcome) -> RPCReplyHeader {
        switch outcome {
        case .success: .success(xid: xid)
        case .procedureUnavailable: RPCReplyHeader(xid: xid, status: .accepted(verifier: .none, status: .procedureUnavailable))
        case .garbageArguments: RPCReplyHeader(xid: xid, status: .accepted(verifier: .none, status: .garbageArguments))
        case .systemError: RPCReplyHeader(xid: xid, status: .accepted(verifier: .none, status: .systemError))
        case .authError(let status): RPCReplyHeader(xid: xid, status: .denied(.authError(status)))
        }
    }
}

extension RPCOutcome {
    /// Frames this outcome as the record that answers call `xid`.
    ///
    /// With `recordMarked` (TCP) the 4-byte record mark is written too, so
    /// the record encoder passes the head on untouched. Small results built
    /// with `RPCCallContext.makeResultBuffer` get the header in their
    /// reserved headroom (one buffer on the wire); large ones are never
    /// copied to put 28 bytes in front of them.
    public func record(xid: UInt32, allocator: ByteBufferAllocator, recordMarked: Bool = false) -> RPCRecord {
        let header = RPCDispatcher.header(xid: xid, outcome: self)
        let markLength = recordMarked ? 4 : 0
        guard case .success(var body) = self else {
            var buffer = allocator.buffer(capacity: 40)
            buffer.moveWriterIndex(forwardBy: markLength)
            header.encode(into: &buffer)
            var record = RPCRecord(head: buffer, isRecordMarked: recordMarked)
            if recordMarked {
                record.head.setInteger(
                    RecordMarkingEncoder.lastFragmentBit | UInt32(record.length), at: record.head.readerIndex, endianness: .big
                )
            }
            return record
        }
        let prefix = markLength + RPCReplyHeader.successHeaderLength
        var record: RPCRecord
        if body.head.readableBytes > Self.largeResults {
            // Large results go out as they are, behind a small buffer with
            // the header: copying them to prepend 28 bytes would cost more
            // than building them did.
            var framing = allocator.buffer(capacity: prefix)
            framing.moveWriterIndex(forwardBy: markLength)
            header.encode(into: &framing)
            record = RPCRecord(head: framing, body: body.head, bulk: body.bulk, bulkOwner: body.bulkOwner, isRecordMarked: recordMarked)
        } else if body.head.readerIndex >= prefix {
            // Small results: fill the headroom reserved by
            // `RPCCallContext.makeResultBuffer` (at worst a small copy).
            let start = body.head.readerIndex - RPCReplyHeader.successHeaderLength
            body.head.setInteger(xid, at: start, endianness: .big)
            body.head.setInteger(RPCMessageType.reply.rawValue, at: start + 4, endianness: .big)
            body.head.setInteger(UInt32(0), at: start + 8, endianness: .big)  // MSG_ACCEPTED
            body.head.setInteger(RPCAuthFlavor.none.rawValue, at: start + 12, endianness: .big)
            body.head.setInteger(UInt32(0), at: start + 16, endianness: .big)  // empty verifier body
            body.head.setInteger(UInt32(0), at: start + 20, endianness: .big)  // SUCCESS
            body.head.moveReaderIndex(to: start - markLength)
            record = RPCRecord(head: body.head, bulk: body.bulk, bulkOwner: body.bulkOwner, isRecordMarked: recordMarked)
        } else {
            var framed = allocator.buffer(capacity: prefix + body.head.readableBytes)
            framed.moveWriterIndex(forwardBy: markLength)
            header.encode(into: &framed)
            framed.writeImmutableBuffer(body.head)
            record = RPCRecord(head: framed, bulk: body.bulk, bulkOwner: body.bulkOwner, isRecordMarked: recordMarked)
        }
        if recordMarked {
            record.head.setInteger(
                RecordMarkingEncoder.lastFragmentBit | UInt32(record.length), at: record.head.readerIndex, endianness: .big
            )
        }
        return record
    }

    /// Results longer than this are not copied behind the reply header.
    static let largeResults = 4096
}
