import Logging
import NIOCore
import NIOEmbedded
import ONCRPC
import XDR

/// Calls an `RPCProgram` the way `RPCServerHandler` does, drives its future
/// on an `EmbeddedEventLoop`, and checks the reply it would send.
public struct FuzzCaller {
    /// Logs nothing: the programs log malformed calls at debug level, and a
    /// fuzzer makes millions of them.
    public static let logger = Logger(label: "p2pfs.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    public static let clientAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 811)
    public static let serverAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 2049)
    public static let machineCredentials = RPCCredentials.sys(AuthSysParameters(machineName: "fuzzclient", uid: 1000, gid: 1000))

    public let loop: EmbeddedEventLoop
    public var transport: RPCTransport = .tcp
    public var remoteAddress: SocketAddress? = FuzzCaller.clientAddress
    public var localAddress: SocketAddress? = FuzzCaller.serverAddress
    public var credentials: RPCCredentials = FuzzCaller.machineCredentials
    public var connectionID: UInt64 = 1
    /// What TLS proved about the caller (nil: a plaintext connection).
    public var peerIdentity: RPCPeerIdentity?
    private var nextXID: UInt32 = 1

    public init(loop: EmbeddedEventLoop = EmbeddedEventLoop()) {
        self.loop = loop
    }

    public var context: RPCCallContext {
        var context = RPCCallContext(
            eventLoop: self.loop, allocator: ByteBufferAllocator(), transport: self.transport,
            remoteAddress: self.remoteAddress, localAddress: self.localAddress, credentials: self.credentials,
            connectionID: self.connectionID, logger: Self.logger
        )
        context.peerIdentity = self.peerIdentity
        return context
    }

    /// What a call came to.
    public struct Reply {
        public var outcome: RPCOutcome
        /// The results after the reply header (success only; empty otherwise).
        public var results: ByteBuffer

        public var isSuccess: Bool {
            if case .success = self.outcome { return true }
            return false
        }
    }

    /// Runs one call to the end and checks the reply's framing: the record
    /// mark matches the record, and the record decodes as a reply to this
    /// call carrying the outcome's status.
    public mutating func call(_ program: any RPCProgram, version: UInt32, procedure: UInt32, arguments: ByteBuffer) throws(FuzzPropertyViolation) -> Reply {
        let xid = self.nextXID
        self.nextXID &+= 1
        let call = RPCCall(xid: xid, program: program.program, version: version, procedure: procedure, arguments: arguments)
        let outcome: RPCOutcome
        switch program.handle(call, context: self.context) {
        case .done(let done):
            outcome = done
        case .pending(let future):
            outcome = try self.wait(for: future, "program \(program.program) procedure \(procedure)")
        }
        // Whatever the program registered on the loop (callbacks, timers) runs now.
        self.loop.run()
        let results = try FuzzReply.check(outcome, xid: xid)
        return Reply(outcome: outcome, results: results)
    }

    /// Drives a future to completion: first what is due now, then an hour
    /// of virtual time (every timeout fires). A future still open after that
    /// would hang a client forever.
    public func wait<T>(for future: EventLoopFuture<T>, _ what: @autoclosure () -> String) throws(FuzzPropertyViolation) -> T {
        nonisolated(unsafe) var result: Result<T, any Error>?
        future.whenComplete { result = $0 }
        self.loop.run()
        if result == nil {
            self.loop.advanceTime(by: .hours(1))
        }
        guard let result else {
            throw FuzzPropertyViolation("\(what()): the future never completed")
        }
        switch result {
        case .success(let value):
            return value
        case .failure(let error):
            throw FuzzPropertyViolation("\(what()): the future failed (the server would answer SYSTEM_ERR): \(error)")
        }
    }
}

