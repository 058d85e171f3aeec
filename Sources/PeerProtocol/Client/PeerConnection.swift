import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import XDR

/// One TCP connection to a peer, carrying typed peer-protocol calls; many
/// calls (block reads above all) may be in flight at once.
public final class PeerConnection: Sendable {
    public let address: PeerAddress
    public let client: RPCClient

    init(address: PeerAddress, client: RPCClient) {
        self.address = address
        self.client = client
    }

    public static func connect(
        to address: PeerAddress,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount,
        logger: Logger
    ) -> EventLoopFuture<PeerConnection> {
        let socketAddress: SocketAddress
        do {
            socketAddress = try address.socketAddress()
        } catch {
            return group.next().makeFailedFuture(PeerClientError.unreachable("\(address): \(error)"))
        }
        return RPCClient.connect(
            to: socketAddress, group: group, connectTimeout: connectTimeout,
            maximumRecordSize: PeerLimits.maximumReadSize + 64 * 1024, logger: logger
        ).map { PeerConnection(address: address, client: $0) }
            .flatMapErrorThrowing { error in throw PeerClientError.unreachable("\(address): \(error)") }
    }

    public static func connect(
        to address: PeerAddress,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount,
        logger: Logger
    ) async throws -> PeerConnection {
        try await Self.connect(to: address, group: group, connectTimeout: connectTimeout, logger: logger).get()
    }

    public var isActive: Bool { self.client.isActive }

    public func close() {
        self.client.close()
    }

    public func hello(_ arguments: HelloArguments, timeout: TimeAmount) async throws -> HelloReply {
        try await self.call(.hello, arguments, timeout: timeout) { buffer -> HelloReply in
            let status = try buffer.readXDREnum(PeerStatus.self)
            guard status == .ok else { throw PeerClientError.status(status) }
            return try HelloReply(xdr: &buffer)
        }.get()
    }

    public func changes(since generation: UInt64, timeout: TimeAmount) async throws -> ChangesReply {
        try await self.call(.changes, ChangesArguments(catalogGeneration: generation), timeout: timeout) { buffer in
            try ChangesReply(xdr: &buffer)
        }.get()
    }

    public func peers(timeout: TimeAmount) async throws -> PeersReply {
        try await self.call(.peers, nil as ChangesArguments?, timeout: timeout) { buffer in
            try PeersReply(xdr: &buffer)
        }.get()
    }

    public func catalogPage(_ arguments: CatalogArguments, timeout: TimeAmount) async throws -> CatalogResult {
        try await self.call(.catalog, arguments, timeout: timeout) { buffer in
            try CatalogResult(xdr: &buffer)
        }.get()
    }

    /// Fetches a whole catalog page by page, starting over (a bounded number
    /// of times) if it changes underneath.
    public func catalog(pageSize: UInt32 = UInt32(PeerLimits.maximumCatalogReply), timeout: TimeAmount) async throws -> (
        generation: UInt64, entries: [CatalogEntry]
    ) {
        for _ in 0..<5 {
            var entries: [CatalogEntry] = []
            var generation: UInt64 = 0
            var cookie: UInt64 = 0
            var restart = false
            paging: while true {
                switch try await self.catalogPage(
                    CatalogArguments(generation: generation, cookie: cookie, maximumCount: pageSize), timeout: timeout
                ) {
                case .page(let page):
                    if cookie == 0 {
                        generation = page.generation
                        entries.reserveCapacity(Int(min(page.totalEntries, 10_000_000)))
                    }
                    entries.append(contentsOf: page.entries)
                    if page.isLast { return (generation, entries) }
                    guard page.nextCookie > cookie, !page.entries.isEmpty else {
                        throw PeerClientError.status(.invalid)
                    }
                    cookie = page.nextCookie
                case .changed:
                    restart = true
                    break paging
                case .failed(let status):
                    throw PeerClientError.status(status)
                }
            }
            if !restart { break }
        }
        throw PeerClientError.status(.changed)
    }

    /// Reads a range of a file; the data is a slice of the reply.
    public func read(_ arguments: ReadArguments, timeout: TimeAmount) -> EventLoopFuture<ReadReply> {
        self.call(.read, arguments, timeout: timeout) { buffer -> ReadReply in
            switch try ReadResult(xdr: &buffer) {
            case .ok(let reply): return reply
            case .failed(let status): throw PeerClientError.status(status)
            }
        }
    }

    private func call<Arguments: XDREncodable, Result: Sendable>(
        _ procedure: PeerProcedure,
        _ arguments: Arguments?,
        timeout: TimeAmount,
        decode: @escaping @Sendable (inout ByteBuffer) throws -> Result
    ) -> EventLoopFuture<Result> {
        var buffer = self.client.channel.allocator.buffer(capacity: 128)
        arguments?.encode(into: &buffer)
        return self.client.call(
            program: PeerProcedure.program, version: PeerProcedure.version, procedure: procedure.rawValue,
            arguments: buffer, timeout: timeout
        ).flatMapErrorThrowing { error in
            throw (error as? RPCClientError).map(PeerClientError.rpc) ?? error
        }.flatMapThrowing { results in
            var results = results
            do {
                return try decode(&results)
            } catch let error as XDRError {
                throw PeerClientError.malformedReply(error)
            }
        }
    }
}

