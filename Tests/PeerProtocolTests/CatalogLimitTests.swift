import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing

/// A peer whose CATALOG goes on and on: every page holds `perPage` entries
/// and points to another (up to 100 pages, so a client without a limit
/// still finishes), and the total it claims is whatever it is told.
struct EndlessCatalogProgram: RPCProgram {
    let program = PeerProcedure.program
    let versions: ClosedRange<UInt32> = PeerProcedure.version...PeerProcedure.version
    let claimedTotal: UInt64
    let perPage: Int

    func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        guard call.procedure == PeerProcedure.catalog.rawValue else { return .done(.procedureUnavailable) }
        return .answer(call.arguments, context) { (arguments: CatalogArguments) -> CatalogResult in
            let entries = (0..<self.perPage).map { index in
                CatalogEntry(path: "f\(arguments.cookie)-\(index)", kind: .regular, size: 1, mtime: Timestamp(seconds: 1), mode: 0o644)
            }
            return .page(
                CatalogPage(generation: 1, totalEntries: self.claimedTotal, entries: entries, nextCookie: arguments.cookie + 1, isLast: arguments.cookie >= 99)
            )
        }
    }
}

@Suite struct CatalogLimitTests {
    static func fetch(claimedTotal: UInt64, maximumEntries: Int) async throws -> Result<Int, PeerClientError> {
        let server = try await RPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0),
            dispatcher: RPCDispatcher(programs: [EndlessCatalogProgram(claimedTotal: claimedTotal, perPage: 100)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test")
        )
        let address = PeerAddress(host: "127.0.0.1", port: server.localAddress.port!)
        let connection = try await PeerConnection.connect(
            to: address, group: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(2), tls: nil, logger: Logger(label: "test")
        )
        defer { connection.close() }
        do {
            let catalog = try await connection.catalog(maximumEntries: maximumEntries, timeout: .seconds(2))
            await server.close()
            return .success(catalog.entries.count)
        } catch let error as PeerClientError {
            await server.close()
            return .failure(error)
        }
    }

    /// A peer that keeps sending pages is cut off at the limit, not followed
    /// until the client runs out of memory.
    @Test func anEndlessCatalogIsRefusedAtTheLimit() async throws {
        let result = try await Self.fetch(claimedTotal: 10, maximumEntries: 1000)
        guard case .failure(.catalogTooLarge(_, let limit)) = result else {
            Issue.record("expected catalogTooLarge, got \(result)")
            return
        }
        #expect(limit == 1000)
    }

    @Test func aCatalogClaimingTooManyEntriesIsRefusedAtOnce() async throws {
        let result = try await Self.fetch(claimedTotal: 1 << 40, maximumEntries: PeerLimits.maximumCatalogEntries)
        guard case .failure(.catalogTooLarge) = result else {
            Issue.record("expected catalogTooLarge, got \(result)")
            return
        }
    }
}
