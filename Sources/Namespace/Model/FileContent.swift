import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A read's bytes as its caller will send them: in memory, or left in the
/// page cache as a region of an open file that the socket sends with
/// `sendfile`, so the bytes never pass through user space.
///
/// Only callers that send the bytes to a plaintext socket and nothing else
/// ask for a region (`FileReader.readForSending`); anything that looks at
/// the bytes (encryption, a reply cache, the block cache) reads them.
public enum FileContent: Sendable {
    case bytes(ByteBuffer)
    /// `file` keeps the descriptor open until the region has been written.
    case region(FileRegion, file: OpenFile)

    public var count: Int {
        switch self {
        case .bytes(let buffer): buffer.readableBytes
        case .region(let region, _): region.readableBytes
        }
    }

    /// The first `count` bytes (all of them when there are fewer).
    public func prefix(_ count: Int) -> FileContent {
        switch self {
        case .bytes(let buffer):
            guard buffer.readableBytes > count else { return self }
            return .bytes(buffer.getSlice(at: buffer.readerIndex, length: count)!)
        case .region(let region, let file):
            guard region.readableBytes > count else { return self }
            return .region(FileRegion(fileHandle: region.fileHandle, readerIndex: region.readerIndex, endIndex: region.readerIndex + count), file: file)
        }
    }

    /// What a channel writes.
    public var ioData: IOData {
        switch self {
        case .bytes(let buffer): .byteBuffer(buffer)
        case .region(let region, _): .fileRegion(region)
        }
    }

    /// What must stay alive until the write of `ioData` completes.
    public var owner: (any AnyObject & Sendable)? {
        switch self {
        case .bytes: nil
        case .region(_, let file): file
        }
    }
}

extension FileContent {
    /// The bytes themselves: a region is read from its file (a blocking
    /// `pread`, for callers that did not expect one); bytes it cannot read
    /// (the file shrank) are left out.
    public func loadedBytes() -> ByteBuffer {
        switch self {
        case .bytes(let buffer):
            return buffer
        case .region(let region, let file):
            var buffer = ByteBufferAllocator().buffer(capacity: region.readableBytes)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: region.readableBytes) { pointer in
                var done = 0
                while done < region.readableBytes {
                    let got = pread(file.descriptor, pointer.baseAddress! + done, region.readableBytes - done, off_t(region.readerIndex + done))
                    if got < 0 && errno == EINTR { continue }
                    if got <= 0 { break }
                    done += got
                }
                return done
            }
            return buffer
        }
    }
}
