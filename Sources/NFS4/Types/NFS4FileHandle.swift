import NFS3
import NIOCore
import Namespace
import XDR

/// `nfs_fh4`: the very bytes NFSv3 hands out (`NFS3FileHandle`), so a
/// handle names the same file in both versions and survives restarts.
public enum NFS4FileHandle {
    /// NFS4_FHSIZE.
    public static let maximumLength = 128

    /// The file a client's handle names: BADHANDLE when it is not ours.
    public static func fileID(_ bytes: ByteBuffer) throws(NFS4Status) -> FileID {
        guard let handle = NFS3FileHandle(bytes: bytes) else { throw .badHandle }
        return handle.fileID
    }

    @discardableResult
    static func encode(_ fileID: FileID, into buffer: inout ByteBuffer) -> Int {
        NFS3FileHandle(fileID: fileID).encode(into: &buffer)
    }
}
