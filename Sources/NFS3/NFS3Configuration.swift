/// How the NFS and MOUNT programs present the namespace.
///
/// Everything here is announced to clients (attributes, FSINFO) rather than
/// enforced: the namespace is read-only and readable by everyone.
public struct NFS3Configuration: Sendable {
    /// Owner every file is presented as. Ownership means nothing here (all
    /// files are world-readable), so this only affects what `ls -l` shows.
    public var uid: UInt32
    public var gid: UInt32
    /// The file system id in every fattr3. The kernel keys its superblock on
    /// it, so it must stay the same across daemon restarts.
    public var fsid: UInt64
    /// The most bytes one READ returns (FSINFO rtmax); larger counts are capped.
    public var maximumReadSize: UInt32
    public var preferredReadSize: UInt32
    /// Announced in FSINFO only: every write is refused with NFS3ERR_ROFS.
    public var maximumWriteSize: UInt32
    public var preferredWriteSize: UInt32
    /// FSINFO dtpref: the READDIR size the client should ask for.
    public var preferredReaddirSize: UInt32

    public init(
        uid: UInt32 = 0,
        gid: UInt32 = 0,
        fsid: UInt64 = 0x7032_7066_7300_0001,
        maximumReadSize: UInt32 = 1 << 20,
        preferredReadSize: UInt32 = 1 << 20,
        maximumWriteSize: UInt32 = 1 << 20,
        preferredWriteSize: UInt32 = 1 << 20,
        preferredReaddirSize: UInt32 = 64 * 1024
    ) {
        self.uid = uid
        self.gid = gid
        self.fsid = fsid
        self.maximumReadSize = maximumReadSize
        self.preferredReadSize = preferredReadSize
        self.maximumWriteSize = maximumWriteSize
        self.preferredWriteSize = preferredWriteSize
        self.preferredReaddirSize = preferredReaddirSize
    }
}
