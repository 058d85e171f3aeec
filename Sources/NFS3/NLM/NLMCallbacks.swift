import Logging
import NIOCore
import ONCRPC
import XDR

/// Sends calls to a client's lock manager: the GRANTED callback for a lock
/// that waited, and the `_RES` results of asynchronous (`_MSG`) requests.
///
/// The indirection lets tests record the calls instead of opening sockets.
public protocol NLMCallbackSending: Sendable {
    /// Calls `procedure` of NLM version 4 at `client`'s lock manager.
    /// The future holds the results and must fail, never hang, when the
    /// client cannot be reached.
    func call(
        procedure: NLMProcedure,
        arguments: ByteBuffer,
        to client: NLMCallbackAddress,
        eventLoop: any EventLoop,
        logger: Logger
    ) -> EventLoopFuture<ByteBuffer>
}

/// Why a callback was not delivered.
public enum NLMCallbackError: Error, Equatable, Sendable {
    /// The client's portmapper knows no NLM version 4 over TCP.
    case notRegistered(host: String)
    /// The client's portmapper names this server's own address for every
    /// NLM version looked up (a client on this machine whose lock manager
    /// is not registered): calling would only reach ourselves.
    case wouldCallItself
    /// The portmapper's answer could not be decoded.
    case malformedReply
}

/// Reaches a client's lock manager the way lock managers do: ask the
/// portmapper on the client's host (PMAPPROC_GETPORT, version 2, for
/// program 100021 version 4 over TCP; see `lookupVersions` for a client on
/// this machine), then call that port over TCP.
///
/// Every step is bounded: connecting, the portmapper's answer and the call
/// itself each have a timeout, and the connections are closed afterwards.
/// The Linux lock manager accepts callbacks with AUTH_NULL or AUTH_SYS and
/// matches a GRANTED by the caller's address (the server it locked
/// against), the handle, the owner and the range; it does not care about
/// the source port.
public struct NLMRPCCallbacks: NLMCallbackSending {
    public var portmapperPort: Int
    public var connectTimeout: TimeAmount
    public var callTimeout: TimeAmount

    public init(portmapperPort: Int = 111, connectTimeout: TimeAmount = .seconds(2), callTimeout: TimeAmount = .seconds(5)) {
        self.portmapperPort = portmapperPort
        self.connectTimeout = connectTimeout
        self.callTimeout = callTimeout
    }

    /// AUTH_SYS as root of a machine called "p2pfs" (the Linux lock manager
    /// ignores the contents for callbacks).
    static let credential: RPCOpaqueAuth = {
        var body = ByteBuffer()
        AuthSysParameters(machineName: "p2pfs", uid: 0, gid: 0).encode(into: &body)
        return RPCOpaqueAuth(flavor: .sys, body: body)
    }()

    public func call(
        procedure: NLMProcedure,
        arguments: ByteBuffer,
        to client: NLMCallbackAddress,
        eventLoop: any EventLoop,
        logger: Logger
    ) -> EventLoopFuture<ByteBuffer> {
        let portmapper: SocketAddress
        do {
            portmapper = try SocketAddress(ipAddress: client.host, port: self.portmapperPort)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return self.lockManagerAddress(portmapper: portmapper, client: client, versions: Self.lookupVersions[...], eventLoop: eventLoop, logger: logger)
            .flatMap { lockManager in
                self.oneCall(
                    to: lockManager, program: NLMProgram.programNumber, version: 4, procedure: procedure.rawValue,
                    arguments: arguments, credential: Self.credential, eventLoop: eventLoop, logger: logger
                )
            }
    }

    /// The NLM versions whose registration is looked up, in order. Version 4
    /// is the one called; 3 and 1 find the same lock manager when the
    /// version 4 registration is this server's own: a Linux client's lockd
    /// registers versions 1, 3 and 4 on one port, and when client and
    /// server share a machine (and so an rpcbind), p2pfs holds the version 4
    /// mapping while the kernel's lockd keeps 1 and 3.
    static let lookupVersions: [UInt32] = [4, 3, 1]

    private func lockManagerAddress(
        portmapper: SocketAddress, client: NLMCallbackAddress, versions: ArraySlice<UInt32>, eventLoop: any EventLoop, logger: Logger
    ) -> EventLoopFuture<SocketAddress> {
        guard let version = versions.first else {
            return eventLoop.makeFailedFuture(NLMCallbackError.wouldCallItself)
        }
        var mapping = ByteBuffer()
        mapping.writeXDRUInt32(NLMProgram.programNumber)
        mapping.writeXDRUInt32(version)
        mapping.writeXDRUInt32(6)  // IPPROTO_TCP
        mapping.writeXDRUInt32(0)
        return self.oneCall(
            to: portmapper, program: 100_000, version: 2, procedure: 3, arguments: mapping,
            credential: .none, eventLoop: eventLoop, logger: logger
        ).flatMapThrowing { reply -> Int in
            var reply = reply
            guard let port = try? reply.readXDRUInt32(), port <= UInt16.max else { throw NLMCallbackError.malformedReply }
            return Int(port)
        }.flatMap { port in
            if port == 0 {
                // Nothing registered: no lock manager there, whatever the version.
                return eventLoop.makeFailedFuture(NLMCallbackError.notRegistered(host: client.host))
            }
            if let localPort = client.localPort, port == localPort, client.host == client.localHost {
                return self.lockManagerAddress(
                    portmapper: portmapper, client: client, versions: versions.dropFirst(), eventLoop: eventLoop, logger: logger
                )
            }
            return eventLoop.makeCompletedFuture { try SocketAddress(ipAddress: client.host, port: port) }
        }
    }

    /// One call on a connection of its own.
    private func oneCall(
        to address: SocketAddress,
        program: UInt32,
        version: UInt32,
        procedure: UInt32,
        arguments: ByteBuffer,
        credential: RPCOpaqueAuth,
        eventLoop: any EventLoop,
        logger: Logger
    ) -> EventLoopFuture<ByteBuffer> {
        let callTimeout = self.callTimeout
        return RPCClient.connect(
            to: address, group: eventLoop, connectTimeout: self.connectTimeout, maximumRecordSize: 64 * 1024, logger: logger
        ).flatMap { client in
            client.call(
                program: program, version: version, procedure: procedure, arguments: arguments,
                credential: credential, timeout: callTimeout
            ).always { _ in client.close() }
        }
    }
}

extension NLMProgram {
    /// Where the caller's lock manager is, for callbacks to it.
    static func callbackAddress(_ context: RPCCallContext) -> NLMCallbackAddress? {
        guard let host = context.remoteAddress?.ipAddress else { return nil }
        return NLMCallbackAddress(host: host, localHost: context.localAddress?.ipAddress, localPort: context.localAddress?.port)
    }

    /// Sends the result of a `_MSG` request as a call of `procedure`,
    /// without waiting and without caring whether it arrives (the client
    /// retransmits its request if it does not).
    func sendResult(_ result: some XDREncodable, as procedure: NLMProcedure, context: RPCCallContext) {
        guard let client = Self.callbackAddress(context) else { return }
        var arguments = context.allocator.buffer(capacity: 64)
        result.encode(into: &arguments)
        let logger = context.logger
        self.callbacks.call(procedure: procedure, arguments: arguments, to: client, eventLoop: context.eventLoop, logger: logger)
            .whenFailure { error in
                logger.debug("NLM: could not send \(procedure) to \(client.host): \(error)")
            }
    }

    /// Tells each client whose blocked lock was just granted (NLM_GRANTED).
    ///
    /// The lock stays granted whatever happens to the callback: a client
    /// that never hears of it asks again (Linux every 30 s) and is answered
    /// NLM4_GRANTED at once. Only a client that answers NLM4_DENIED (it no
    /// longer waits) gives the lock back.
    func notifyGranted(_ grants: [NLMBlockedLock], context: RPCCallContext) {
        for grant in grants {
            let logger = context.logger
            logger.debug("NLM: granted a blocked lock", metadata: ["owner": "\(grant.request.owner)", "range": "\(grant.request.range)"])
            guard let client = grant.callback else { continue }
            let arguments = NLM4TestArgs(
                cookie: grant.cookie, exclusive: grant.request.exclusive,
                lock: NLM4Lock(
                    callerName: grant.request.owner.callerName, fileHandle: grant.fileHandle,
                    ownerHandle: grant.request.owner.ownerHandle, svid: grant.request.owner.svid,
                    offset: grant.request.range.offset, length: grant.request.range.length
                )
            )
            var buffer = context.allocator.buffer(capacity: 128)
            arguments.encode(into: &buffer)
            self.callbacks.call(procedure: .granted, arguments: buffer, to: client, eventLoop: context.eventLoop, logger: logger)
                .whenComplete { result in
                    switch result {
                    case .success(var reply):
                        guard let answer = try? NLM4Result(xdr: &reply) else {
                            logger.debug("NLM: undecodable answer to GRANTED from \(client.host); the lock stays granted")
                            return
                        }
                        if answer.status == .denied {
                            logger.debug("NLM: \(client.host) refused a granted lock; releasing it")
                            let granted = self.table.withLock { $0.rejectGrant(grant) }
                            self.notifyGranted(granted, context: context)
                        } else {
                            self.table.withLock { $0.confirmGrant(grant) }
                        }
                    case .failure(let error):
                        logger.debug("NLM: GRANTED callback to \(client.host) failed (\(error)); the lock stays granted for the client's next poll")
                    }
                }
        }
    }
}
