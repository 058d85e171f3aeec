import NIOCore
import XDR

/// One decoded `nfs_argop4`.
public enum NFS4Operation: Sendable, Equatable {
    case access(UInt32)
    case close(StateID4)
    case getattr(Bitmap4)
    case getfh
    case lock(LOCK4Args)
    case lockt(LOCKT4Args)
    case locku(LOCKU4Args)
    case lookup(ComponentName4)
    case lookupp
    case nverify(FileAttributesArgument4)
    case open(OPEN4Args)
    case openDowngrade(OPEN_DOWNGRADE4Args)
    case putfh(ByteBuffer)
    case putpubfh
    case putrootfh
    case read(stateID: StateID4, offset: UInt64, count: UInt32)
    case readdir(READDIR4Args)
    case readlink
    case restorefh
    case savefh
    case secinfo(ComponentName4)
    case verify(FileAttributesArgument4)
    case delegReturn(StateID4)
    case backchannelControl
    case bindConnectionToSession(SessionID4)
    case exchangeID(EXCHANGE_ID4Args)
    case createSession(CREATE_SESSION4Args)
    case destroySession(SessionID4)
    case freeStateID(StateID4)
    /// SECINFO_NO_NAME: of the current file handle, or of its parent.
    case secinfoNoName(parent: Bool)
    case sequence(SEQUENCE4Args)
    case testStateID([StateID4])
    case destroyClientID(UInt64)
    case reclaimComplete(oneFileSystem: Bool)
    /// An operation answered with one status whatever its arguments:
    /// modifying ones (NFS4ERR_ROFS) and unsupported ones (NFS4ERR_NOTSUPP).
    /// Its arguments are not decoded; the COMPOUND stops at it.
    case refused(NFS4OperationCode, NFS4Status)
    /// An operation number NFSv4.1 does not define (or OP_ILLEGAL itself).
    case illegal
    /// Arguments that do not decode: NFS4ERR_BADXDR for this operation.
    case undecodable(NFS4OperationCode)

    /// The operation number its result carries.
    public var code: NFS4OperationCode {
        switch self {
        case .access: .access
        case .close: .close
        case .getattr: .getattr
        case .getfh: .getfh
        case .lock: .lock
        case .lockt: .lockt
        case .locku: .locku
        case .lookup: .lookup
        case .lookupp: .lookupp
        case .nverify: .nverify
        case .open: .open
        case .openDowngrade: .openDowngrade
        case .putfh: .putfh
        case .putpubfh: .putpubfh
        case .putrootfh: .putrootfh
        case .read: .read
        case .readdir: .readdir
        case .readlink: .readlink
        case .restorefh: .restorefh
        case .savefh: .savefh
        case .secinfo: .secinfo
        case .verify: .verify
        case .delegReturn: .delegReturn
        case .backchannelControl: .backchannelControl
        case .bindConnectionToSession: .bindConnectionToSession
        case .exchangeID: .exchangeID
        case .createSession: .createSession
        case .destroySession: .destroySession
        case .freeStateID: .freeStateID
        case .secinfoNoName: .secinfoNoName
        case .sequence: .sequence
        case .testStateID: .testStateID
        case .destroyClientID: .destroyClientID
        case .reclaimComplete: .reclaimComplete
        case .refused(let code, _): code
        case .illegal: .illegal
        case .undecodable(let code): code
        }
    }

    /// Whether decoding must stop after this operation: its arguments'
    /// length is unknown, and the COMPOUND ends at its error anyway.
    var endsDecoding: Bool {
        switch self {
        case .refused, .illegal, .undecodable: true
        default: false
        }
    }

    /// Reads one `nfs_argop4`. Never throws: what cannot be read becomes
    /// an operation that fails with the right status.
    static func decode(from buffer: inout ByteBuffer) -> NFS4Operation {
        guard let number = try? buffer.readXDRUInt32() else { return .undecodable(.illegal) }
        guard let code = NFS4OperationCode(rawValue: number), code != .illegal else { return .illegal }
        if code.isModifying { return .refused(code, .readOnlyFileSystem) }
        if code.isUnsupported { return .refused(code, .notSupported) }
        do {
            return try Self.decodeArguments(code, from: &buffer)
        } catch {
            return .undecodable(code)
        }
    }

    private static func decodeArguments(_ code: NFS4OperationCode, from buffer: inout ByteBuffer) throws(XDRError) -> NFS4Operation {
        switch code {
        case .access: return .access(try buffer.readXDRUInt32())
        case .close:
            _ = try buffer.readXDRUInt32()  // seqid
            return .close(try StateID4(xdr: &buffer))
        case .getattr: return .getattr(try Bitmap4(xdr: &buffer))
        case .getfh: return .getfh
        case .lock: return .lock(try LOCK4Args(xdr: &buffer))
        case .lockt: return .lockt(try LOCKT4Args(xdr: &buffer))
        case .locku: return .locku(try LOCKU4Args(xdr: &buffer))
        case .lookup: return .lookup(try buffer.readComponent4())
        case .lookupp: return .lookupp
        case .nverify: return .nverify(try FileAttributesArgument4(xdr: &buffer))
        case .open: return .open(try OPEN4Args(xdr: &buffer))
        case .openDowngrade: return .openDowngrade(try OPEN_DOWNGRADE4Args(xdr: &buffer))
        case .putfh: return .putfh(try buffer.readXDRVariableOpaque(limit: NFS4FileHandle.maximumLength))
        case .putpubfh: return .putpubfh
        case .putrootfh: return .putrootfh
        case .read:
            return .read(stateID: try StateID4(xdr: &buffer), offset: try buffer.readXDRUInt64(), count: try buffer.readXDRUInt32())
        case .readdir: return .readdir(try READDIR4Args(xdr: &buffer))
        case .readlink: return .readlink
        case .restorefh: return .restorefh
        case .savefh: return .savefh
        case .secinfo: return .secinfo(try buffer.readComponent4())
        case .verify: return .verify(try FileAttributesArgument4(xdr: &buffer))
        case .delegReturn: return .delegReturn(try StateID4(xdr: &buffer))
        case .backchannelControl:
            _ = try buffer.readXDRUInt32()  // bca_cb_program
            try CREATE_SESSION4Args.skipCallbackSecurity(&buffer)
            return .backchannelControl
        case .bindConnectionToSession:
            let session = try SessionID4(xdr: &buffer)
            _ = try buffer.readXDRUInt32()  // bctsa_dir
            _ = try buffer.readXDRBool()  // bctsa_use_conn_in_rdma_mode
            return .bindConnectionToSession(session)
        case .exchangeID: return .exchangeID(try EXCHANGE_ID4Args(xdr: &buffer))
        case .createSession: return .createSession(try CREATE_SESSION4Args(xdr: &buffer))
        case .destroySession: return .destroySession(try SessionID4(xdr: &buffer))
        case .freeStateID: return .freeStateID(try StateID4(xdr: &buffer))
        case .secinfoNoName:
            let style = try buffer.readXDRUInt32()
            guard style <= 1 else { throw .invalidDiscriminant(type: "secinfo_style4", value: style) }
            return .secinfoNoName(parent: style == 1)
        case .sequence: return .sequence(try SEQUENCE4Args(xdr: &buffer))
        case .testStateID:
            return .testStateID(try buffer.readXDRArray(limit: 1024) { buffer throws(XDRError) in try StateID4(xdr: &buffer) })
        case .destroyClientID: return .destroyClientID(try buffer.readXDRUInt64())
        case .reclaimComplete: return .reclaimComplete(oneFileSystem: try buffer.readXDRBool())
        default:
            // Modifying and unsupported operations are handled by `decode`.
            return .refused(code, .notSupported)
        }
    }
}

/// COMPOUND4args: the tag, the minor version and the operations.
public struct COMPOUND4Args: Sendable, Equatable {
    /// Most operations a COMPOUND may carry, whatever a session allows:
    /// bounds the work and memory one call can cost before any session
    /// is checked.
    public static let maximumOperations = 64
    static let tagLimit = 1024

    public var tag: ByteBuffer
    public var minorVersion: UInt32
    public var operations: [NFS4Operation]
    /// The array's declared length, which may exceed what was decoded.
    public var declaredCount: UInt32

    public init(tag: ByteBuffer = ByteBuffer(), minorVersion: UInt32 = 1, operations: [NFS4Operation]) {
        self.tag = tag
        self.minorVersion = minorVersion
        self.operations = operations
        self.declaredCount = UInt32(operations.count)
    }

    /// Reads the header, then operations until one that ends decoding.
    /// Throws only when the header itself is unreadable (GARBAGE_ARGS).
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.tag = try buffer.readXDRVariableOpaque(limit: Self.tagLimit)
        self.minorVersion = try buffer.readXDRUInt32()
        self.declaredCount = try buffer.readXDRUInt32()
        self.operations = []
        guard self.minorVersion == 1, self.declaredCount <= Self.maximumOperations else { return }
        for _ in 0..<self.declaredCount {
            let operation = NFS4Operation.decode(from: &buffer)
            self.operations.append(operation)
            if operation.endsDecoding { break }
        }
    }
}
