import CoreMetrics
import NIOCore
import Namespace
import ONCRPC
import XDR

/// NFS version 3 (RFC 1813, program 100003) over a `NamespaceStore`.
///
/// This file only routes: each procedure lives in `Procedures/`, decoding its
/// arguments into a typed value and producing a typed result.
public struct NFSv3Program: RPCProgram {
    public static let programNumber: UInt32 = 100_003

    public var program: UInt32 { Self.programNumber }
    public var versions: ClosedRange<UInt32> { 3...3 }

    public let store: NamespaceStore
    public let configuration: NFS3Configuration
    /// Awaited before each FSINFO is answered (bounded by the caller).
    ///
    /// Linux mounts in this order: MNT, start its lock manager (which
    /// replaces program 100021's rpcbind entry with its own), FSINFO. A
    /// daemon that puts NLM's entry back here, before FSINFO's reply lets
    /// the mount return, wins that race every time: a lock taken the
    /// instant `mount` returns finds p2pfs's NLM, not the kernel's.
    public let beforeFSInfo: (@Sendable () async -> Void)?
    /// File bytes sent in READ replies (`p2pfs_nfs_read_bytes_total`).
    let readBytes = Counter(label: "p2pfs_nfs_read_bytes_total", dimensions: [("version", "3")])

    public init(store: NamespaceStore, configuration: NFS3Configuration, beforeFSInfo: (@Sendable () async -> Void)? = nil) {
        self.store = store
        self.configuration = configuration
        self.beforeFSInfo = beforeFSInfo
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        guard let procedure = NFS3Procedure(rawValue: call.procedure) else {
            return .done(.procedureUnavailable)
        }
        let arguments = call.arguments
        switch procedure {
        case .null: return RPCResponse.answer(arguments, context, self.null)
        case .getattr: return RPCResponse.answer(arguments, context, self.getattr)
        case .setattr: return RPCResponse.answer(arguments, context, self.setattr)
        case .lookup: return RPCResponse.answer(arguments, context, self.lookup)
        case .access: return RPCResponse.answer(arguments, context, self.access)
        case .readlink: return RPCResponse.answer(arguments, context, self.readlink)
        case .read:
            var arguments = arguments
            guard let decoded = try? READ3Args(xdr: &arguments) else { return .done(.garbageArguments) }
            let readBytes = self.readBytes
            return .pending(
                self.read(decoded, eventLoop: context.eventLoop, logger: context.logger).map { result in
                    var head = context.makeResultBuffer(capacity: READ3Result.maximumHeadLength)
                    let bulk = result.encodeHead(into: &head)
                    if let bulk { readBytes.increment(by: bulk.count) }
                    return .success(RPCResultBody(head: head, bulk: bulk?.ioData, bulkOwner: bulk?.owner))
                }
            )
        case .write: return RPCResponse.answer(arguments, context, self.write)
        case .create: return RPCResponse.answer(arguments, context, self.create)
        case .mkdir: return RPCResponse.answer(arguments, context, self.mkdir)
        case .symlink: return RPCResponse.answer(arguments, context, self.symlink)
        case .mknod: return RPCResponse.answer(arguments, context, self.mknod)
        case .remove: return RPCResponse.answer(arguments, context, self.remove)
        case .rmdir: return RPCResponse.answer(arguments, context, self.rmdir)
        case .rename: return RPCResponse.answer(arguments, context, self.rename)
        case .link: return RPCResponse.answer(arguments, context, self.link)
        case .readdir: return RPCResponse.answer(arguments, context, self.readdir)
        case .readdirplus: return RPCResponse.answerWriting(arguments, context, self.readdirplus)
        case .fsstat: return RPCResponse.answer(arguments, context, self.fsstat)
        case .fsinfo:
            guard let beforeFSInfo = self.beforeFSInfo else {
                return RPCResponse.answer(arguments, context, self.fsinfo)
            }
            var arguments = arguments
            guard let decoded = try? FSINFO3Args(xdr: &arguments) else { return .done(.garbageArguments) }
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.completeWithTask { await beforeFSInfo() }
            return .pending(
                promise.futureResult.map {
                    var buffer = context.makeResultBuffer()
                    self.fsinfo(decoded).encode(into: &buffer)
                    return .success(RPCResultBody(head: buffer))
                }
            )
        case .pathconf: return RPCResponse.answer(arguments, context, self.pathconf)
        case .commit: return RPCResponse.answer(arguments, context, self.commit)
        }
    }
}


/// The procedure numbers of NFS version 3.
public enum NFS3Procedure: UInt32, Sendable, CaseIterable {
    case null = 0
    case getattr = 1
    case setattr = 2
    case lookup = 3
    case access = 4
    case readlink = 5
    case read = 6
    case write = 7
    case create = 8
    case mkdir = 9
    case symlink = 10
    case mknod = 11
    case remove = 12
    case rmdir = 13
    case rename = 14
    case link = 15
    case readdir = 16
    case readdirplus = 17
    case fsstat = 18
    case fsinfo = 19
    case pathconf = 20
    case commit = 21
}
