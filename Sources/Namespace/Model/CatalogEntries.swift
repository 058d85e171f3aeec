/// A catalog's entries stored column by column: all paths in one byte
/// array, the fixed-size fields in arrays of their own.
///
/// A client keeps every peer's catalog for as long as the peer is around
/// (the next merge needs it), so a million-entry network must not cost a
/// `String` allocation and a 72-byte struct per entry: stored this way an
/// entry takes little more than its path's bytes and 23 bytes of fields.
/// Reading an element materialises a `CatalogEntry`; the merger uses the
/// allocation-free accessors instead.
public struct CatalogEntries: RandomAccessCollection, Sendable, Equatable, ExpressibleByArrayLiteral {
    final class Storage: Sendable {
        let pathBytes: [UInt8]
        /// `pathEnds[i]` is the end of path `i` in `pathBytes`; it starts
        /// where path `i - 1` ended.
        let pathEnds: [UInt32]
        let kinds: [FileKind]
        let modes: [UInt16]
        let sizes: [UInt64]
        let mtimeSeconds: [Int64]
        let mtimeNanoseconds: [UInt32]
        /// Symlink targets, by entry index (few entries have one).
        let symlinkTargets: [Int32: String]
        /// A digest of everything above, to tell catalogs apart cheaply.
        let digest: UInt64

        init(_ entries: some Collection<CatalogEntry>) {
            var pathBytes: [UInt8] = []
            pathBytes.reserveCapacity(entries.reduce(0) { $0 + $1.path.utf8.count })
            var pathEnds: [UInt32] = []
            var kinds: [FileKind] = []
            var modes: [UInt16] = []
            var sizes: [UInt64] = []
            var seconds: [Int64] = []
            var nanoseconds: [UInt32] = []
            pathEnds.reserveCapacity(entries.count)
            kinds.reserveCapacity(entries.count)
            modes.reserveCapacity(entries.count)
            sizes.reserveCapacity(entries.count)
            seconds.reserveCapacity(entries.count)
            nanoseconds.reserveCapacity(entries.count)
            var targets: [Int32: String] = [:]
            var digest = Digest()
            for (index, entry) in entries.enumerated() {
                pathBytes.append(contentsOf: entry.path.utf8)
                pathEnds.append(UInt32(pathBytes.count))
                kinds.append(entry.kind)
                modes.append(entry.mode)
                sizes.append(entry.size)
                seconds.append(entry.mtime.seconds)
                nanoseconds.append(entry.mtime.nanoseconds)
                digest.add(entry.path.utf8)
                digest.add(UInt64(entry.kind.rawValue) << 16 | UInt64(entry.mode))
                digest.add(entry.size)
                digest.add(UInt64(bitPattern: entry.mtime.seconds))
                digest.add(UInt64(entry.mtime.nanoseconds))
                if let target = entry.symlinkTarget {
                    targets[Int32(index)] = target
                    digest.add(target.utf8)
                }
            }
            self.pathBytes = pathBytes
            self.pathEnds = pathEnds
            self.kinds = kinds
            self.modes = modes
            self.sizes = sizes
            self.mtimeSeconds = seconds
            self.mtimeNanoseconds = nanoseconds
            self.symlinkTargets = targets
            self.digest = digest.value
        }
    }

    let storage: Storage

    public init(_ entries: some Collection<CatalogEntry>) {
        self.storage = Storage(entries)
    }

    public init(arrayLiteral elements: CatalogEntry...) {
        self.init(elements)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { self.storage.pathEnds.count }

    public subscript(position: Int) -> CatalogEntry {
        CatalogEntry(
            path: self.path(at: position),
            kind: self.storage.kinds[position],
            size: self.storage.sizes[position],
            mtime: self.mtime(at: position),
            mode: self.storage.modes[position],
            symlinkTarget: self.storage.symlinkTargets[Int32(position)]
        )
    }

    /// Equal catalogs have equal digests (a 64-bit digest of every field).
    public static func == (lhs: CatalogEntries, rhs: CatalogEntries) -> Bool {
        lhs.storage === rhs.storage || (lhs.count == rhs.count && lhs.storage.digest == rhs.storage.digest)
    }

    // MARK: Field access without materialising entries

    func pathRange(at position: Int) -> Range<Int> {
        let end = Int(self.storage.pathEnds[position])
        let start = position == 0 ? 0 : Int(self.storage.pathEnds[position - 1])
        return start..<end
    }

    /// Runs `body` on the UTF-8 bytes of path `position`.
    func withPathBytes<R>(at position: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let range = self.pathRange(at: position)
        return try self.storage.pathBytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[range]))
        }
    }

    public func path(at position: Int) -> String {
        self.withPathBytes(at: position) { String(decoding: $0, as: UTF8.self) }
    }

    /// The last component of path `position`.
    func name(at position: Int) -> String {
        self.withPathBytes(at: position) { bytes in
            let slash = bytes.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[slash...]), as: UTF8.self)
        }
    }

    func kind(at position: Int) -> FileKind { self.storage.kinds[position] }
    func mode(at position: Int) -> UInt16 { self.storage.modes[position] }
    func size(at position: Int) -> UInt64 { self.storage.sizes[position] }

    func mtime(at position: Int) -> Timestamp {
        Timestamp(seconds: self.storage.mtimeSeconds[position], nanoseconds: self.storage.mtimeNanoseconds[position])
    }

    func version(at position: Int) -> FileVersion {
        FileVersion(size: self.storage.sizes[position], mtime: self.mtime(at: position))
    }

    func symlinkTarget(at position: Int) -> String? {
        self.storage.symlinkTargets[Int32(position)]
    }

    /// Bytes of memory held, roughly, for logs and the benchmark.
    public var storageBytes: Int {
        self.storage.pathBytes.capacity + self.count * (4 + 1 + 2 + 8 + 8 + 4)
    }
}

/// FNV-1a over everything added, for cheap catalog comparison.
private struct Digest {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            self.value = (self.value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        self.add(0xFF)
    }

    mutating func add(_ word: UInt64) {
        var word = word
        for _ in 0..<8 {
            self.value = (self.value ^ (word & 0xFF)) &* 0x0000_0100_0000_01B3
            word >>= 8
        }
    }
}
