import NIOCore
import Namespace
import ONCRPC
import Synchronization
import XDR

/// The MOUNT protocol (RFC 1813 appendix I, program 100005), versions 1 to 3.
///
/// `mount -t nfs localhost:/ /mnt/p2p` asks it for the root handle;
/// `showmount` asks it for exports and mounts. Versions 1 and 2 share
/// every procedure's XDR with version 3 except MNT, whose NFSv2 handle
/// p2pfs does not issue.
public final class MountProgram: RPCProgram {
    public static let programNumber: UInt32 = 100_005

    public var program: UInt32 { Self.programNumber }
    public var versions: ClosedRange<UInt32> { 1...3 }

    public let store: NamespaceStore
    public let configuration: NFS3Configuration
    let mounts = Mutex(MountList())

    public init(store: NamespaceStore, configuration: NFS3Configuration) {
        self.store = store
        self.configuration = configuration
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        guard let procedure = MountProcedure(rawValue: call.procedure) else {
            return .done(.procedureUnavailable)
        }
        let arguments = call.arguments
        switch procedure {
        case .null:
            return RPCResponse.answer(arguments, context, self.null)
        case .mnt where call.version == 3:
            let client = Self.clientName(context)
            return RPCResponse.answer(arguments, context) { (path: MountPath) in self.mnt(path, client: client) }
        case .mnt:
            return RPCResponse.answer(arguments, context, self.mntVersion1)
        case .dump:
            return RPCResponse.answer(arguments, context) { (_: NULL3Args) in self.dump() }
        case .umnt:
            let client = Self.clientName(context)
            return RPCResponse.answer(arguments, context) { (path: MountPath) in self.umnt(path, client: client) }
        case .umntall:
            let client = Self.clientName(context)
            return RPCResponse.answer(arguments, context) { (_: NULL3Args) in self.umntall(client: client) }
        case .export:
            return RPCResponse.answer(arguments, context) { (_: NULL3Args) in self.export() }
        case .exportAll where call.version < 3:
            return RPCResponse.answer(arguments, context) { (_: NULL3Args) in self.export() }
        case .exportAll:
            return .done(.procedureUnavailable)
        }
    }

    /// Who is mounting, for DUMP: the AUTH_SYS machine name when the client
    /// sent one, else its address.
    static func clientName(_ context: RPCCallContext) -> String {
        if case .sys(let parameters) = context.credentials, !parameters.machineName.isEmpty {
            return parameters.machineName
        }
        return context.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// The MOUNT procedure numbers (EXPORTALL exists in versions 1 and 2 only).
public enum MountProcedure: UInt32, Sendable, CaseIterable {
    case null = 0
    case mnt = 1
    case dump = 2
    case umnt = 3
    case umntall = 4
    case export = 5
    case exportAll = 6
}

/// The clients that mounted something, for DUMP.
///
/// Purely informational (NFS is stateless; nothing depends on it), so it
/// is bounded: past `capacity` the oldest entries are forgotten, and a
/// client that mounts in a loop cannot make it grow without limit.
struct MountList {
    struct Entry: Hashable {
        var client: String
        /// By its bytes: an UMNT of NFD "/café" forgets no mount of NFC
        /// "/café".
        var directory: ExactPath
    }

    static let capacity = 1024

    private(set) var entries: [Entry] = []

    mutating func add(_ entry: Entry) {
        self.entries.removeAll { $0 == entry }
        self.entries.append(entry)
        if self.entries.count > Self.capacity {
            self.entries.removeFirst(self.entries.count - Self.capacity)
        }
    }

    mutating func remove(_ entry: Entry) {
        self.entries.removeAll { $0 == entry }
    }

    mutating func removeAll(client: String) {
        self.entries.removeAll { $0.client == client }
    }
}
