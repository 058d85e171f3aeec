import NIOCore
import ONCRPC
import Testing
import XDR

@Suite("RPC dispatcher refusals")
struct RPCDispatcherTests {
    static let dispatcher = RPCDispatcher(programs: [
        ToyProgram(versions: 2...3),
        ToyProgram(versions: 5...5),
    ])

    static func call(program: UInt32 = ToyProgram.number, version: UInt32 = 2, credential: RPCOpaqueAuth = .none) -> RPCCall {
        RPCCall(xid: 0x0A0B_0C0D, program: program, version: version, procedure: 0, credential: credential)
    }

    static func refusalBytes(_ route: RPCDispatcher.Route) -> [UInt8]? {
        guard case .refuse(let header) = route else { return nil }
        var out = ByteBuffer()
        header.encode(into: &out)
        return bytes(out)
    }

    static func authSys(_ parameters: AuthSysParameters, trailing: [UInt8] = []) -> RPCOpaqueAuth {
        var body = ByteBuffer()
        parameters.encode(into: &body)
        body.writeBytes(trailing)
        return RPCOpaqueAuth(flavor: .sys, body: body)
    }

    @Test func unknownProgramIsProgUnavail() {
        let route = Self.dispatcher.route(Self.call(program: 42))
        #expect(Self.refusalBytes(route) == words(0x0A0B_0C0D, 1, 0, 0, 0, 1))
    }

    @Test(arguments: [UInt32(1), 4, 6, 0xFFFF_FFFF])
    func unservedVersionIsProgMismatchOverAllVersions(_ version: UInt32) {
        let route = Self.dispatcher.route(Self.call(version: version))
        #expect(Self.refusalBytes(route) == words(0x0A0B_0C0D, 1, 0, 0, 0, 2, 2, 5))
    }

    @Test(arguments: [UInt32(2), 3, 5])
    func servedVersionsAreDelivered(_ version: UInt32) {
        guard case .deliver(let program, let credentials) = Self.dispatcher.route(Self.call(version: version)) else {
            Issue.record("refused")
            return
        }
        #expect(program.versions.contains(version))
        #expect(credentials == .none)
    }

    @Test(arguments: [RPCAuthFlavor.short.rawValue, RPCAuthFlavor.dh.rawValue, RPCAuthFlavor.rpcsecGSS.rawValue, 99])
    func unknownFlavorIsRejectedCredential(_ flavor: UInt32) {
        let route = Self.dispatcher.route(Self.call(credential: RPCOpaqueAuth(flavor: flavor)))
        #expect(Self.refusalBytes(route) == words(0x0A0B_0C0D, 1, 1, 1, 2))
    }

    @Test func authenticationIsCheckedBeforeTheProgram() {
        let route = Self.dispatcher.route(Self.call(program: 42, credential: RPCOpaqueAuth(flavor: 99)))
        #expect(Self.refusalBytes(route) == words(0x0A0B_0C0D, 1, 1, 1, 2))
    }

    @Test func malformedAuthSysIsBadCredential() {
        let truncated = RPCOpaqueAuth(flavor: .sys, body: ByteBuffer(bytes: words(0, 3)))
        #expect(Self.refusalBytes(Self.dispatcher.route(Self.call(credential: truncated))) == words(0x0A0B_0C0D, 1, 1, 1, 1))

        let trailing = Self.authSys(AuthSysParameters(machineName: "m", uid: 1, gid: 1), trailing: [0, 0, 0, 0])
        #expect(Self.refusalBytes(Self.dispatcher.route(Self.call(credential: trailing))) == words(0x0A0B_0C0D, 1, 1, 1, 1))

        let badName = RPCOpaqueAuth(flavor: .sys, body: ByteBuffer(bytes: words(0, 1) + [0xFF, 0, 0, 0] + words(0, 0, 0)))
        #expect(Self.refusalBytes(Self.dispatcher.route(Self.call(credential: badName))) == words(0x0A0B_0C0D, 1, 1, 1, 1))
    }

    @Test func validAuthSysIsDeliveredWithTheParameters() {
        let parameters = AuthSysParameters(stamp: 1, machineName: "host", uid: 1000, gid: 1000, auxiliaryGIDs: [4, 24])
        guard case .deliver(_, let credentials) = Self.dispatcher.route(Self.call(credential: Self.authSys(parameters))) else {
            Issue.record("refused")
            return
        }
        #expect(credentials == .sys(parameters))
    }

    @Test func decodingErrorReplies() {
        func encoded(_ header: RPCReplyHeader?) -> [UInt8]? {
            header.map { header in
                var out = ByteBuffer()
                header.encode(into: &out)
                return bytes(out)
            }
        }
        #expect(encoded(RPCDispatcher.reply(to: .unreadable(.truncated(needed: 4, available: 0)))) == nil)
        #expect(encoded(RPCDispatcher.reply(to: .invalidMessageType(xid: 5, value: 9))) == nil)
        #expect(encoded(RPCDispatcher.reply(to: .malformedReplyHeader(xid: 5, .invalidBool(3)))) == nil)
        #expect(encoded(RPCDispatcher.reply(to: .rpcVersionMismatch(xid: 5, version: 3))) == words(5, 1, 1, 0, 2, 2))
        #expect(
            encoded(RPCDispatcher.reply(to: .malformedCallHeader(xid: 5, .lengthLimitExceeded(length: 401, limit: 400))))
                == words(5, 1, 1, 1, 1)
        )
        #expect(encoded(RPCDispatcher.reply(to: .malformedCallHeader(xid: 5, .truncated(needed: 4, available: 0)))) == words(5, 1, 0, 0, 0, 4))
    }

    @Test func outcomeRecords() {
        let allocator = ByteBufferAllocator()
        func encoded(_ outcome: RPCOutcome) -> [UInt8]? {
            outcome.record(xid: 3, allocator: allocator).flattened(allocator: allocator).map(bytes)
        }
        #expect(encoded(.procedureUnavailable) == words(3, 1, 0, 0, 0, 3))
        #expect(encoded(.garbageArguments) == words(3, 1, 0, 0, 0, 4))
        #expect(encoded(.systemError) == words(3, 1, 0, 0, 0, 5))
        #expect(encoded(.authError(.tooWeak)) == words(3, 1, 1, 1, 5))
        // Results without headroom are copied behind a fresh header.
        #expect(encoded(.success(RPCResultBody(head: ByteBuffer(bytes: words(77))))) == words(3, 1, 0, 0, 0, 0, 77))
    }

    @Test func registrationsListEveryVersion() {
        let pairs = Self.dispatcher.registrations.map { [$0.program, $0.version] }
        #expect(pairs == [[ToyProgram.number, 2], [ToyProgram.number, 3], [ToyProgram.number, 5]])
    }
}
