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

        init(_ builder: consuming Builder) {
            self.pathBytes = builder.pathBytes
            self.pathEnds = builder.pathEnds
            self.kinds = builder.kinds
            self.modes = builder.modes
            self.sizes = builder.sizes
            self.mtimeSeconds = builder.mtimeSeconds
            self.mtimeNanoseconds = builder.mtimeNanoseconds
            self.symlinkTargets = builder.symlinkTargets
            self.digest = builder.digest.value
        }
    }

    /// Collects entries as they arrive (a catalog fetched page by page), so
    /// that no more than a page of them is ever held as `CatalogEntry` values.
    public struct Builder: Sendable {
        fileprivate var pathBytes: [UInt8] = []
        fileprivate var pathEnds: [UInt32] = []
        fileprivate var kinds: [FileKind] = []
        fileprivate var modes: [UInt16] = []
        fileprivate var sizes: [UInt64] = []
        fileprivate var mtimeSeconds: [Int64] = []
        fileprivate var mtimeNanoseconds: [UInt32] = []
        fileprivate var symlinkTargets: [Int32: String] = [:]
        fileprivate var digest = Digest()

        public init() {}

        public var count: Int { self.pathEnds.count }

        /// Room for `entries` more entries, and `pathBytes` more path bytes.
        public mutating func reserveCapacity(entries: Int, pathBytes: Int = 0) {
            self.pathBytes.reserveCapacity(self.pathBytes.count + pathBytes)
            self.pathEnds.reserveCapacity(self.count + entries)
            self.kinds.reserveCapacity(self.count + entries)
            self.modes.reserveCapacity(self.count + entries)
            self.sizes.reserveCapacity(self.count + entries)
            self.mtimeSeconds.reserveCapacity(self.count + entries)
            self.mtimeNanoseconds.reserveCapacity(self.count + entries)
        }

        public mutating func append(_ entry: CatalogEntry) {
            let index = Int32(self.count)
            self.pathBytes.append(contentsOf: entry.path.utf8)
            self.pathEnds.append(UInt32(self.pathBytes.count))
            self.kinds.append(entry.kind)
            self.modes.append(entry.mode)
            self.sizes.append(entry.size)
            self.mtimeSeconds.append(entry.mtime.seconds)
            self.mtimeNanoseconds.append(entry.mtime.nanoseconds)
            self.digest.add(entry.path.utf8)
            self.digest.add(UInt64(entry.kind.rawValue) << 16 | UInt64(entry.mode))
            self.digest.add(entry.size)
            self.digest.add(UInt64(bitPattern: entry.mtime.seconds))
            self.digest.add(UInt64(entry.mtime.nanoseconds))
            if let target = entry.symlinkTarget {
                self.symlinkTargets[index] = target
                self.digest.add(target.utf8)
            }
        }

        public mutating func append(contentsOf entries: some Sequence<CatalogEntry>) {
            for entry in entries {
                self.append(entry)
            }
        }

        /// Appends `other`'s entries in `range` column by column, without
        /// materialising them: how a local export's catalog is patched,
        /// copying the directories a batch did not touch as they are. The
        /// digest comes out as if each entry had been appended alone.
        public mutating func append(contentsOf other: CatalogEntries, range: Range<Int>) {
            guard !range.isEmpty else { return }
            let storage = other.storage
            let start = range.lowerBound == 0 ? 0 : Int(storage.pathEnds[range.lowerBound - 1])
            let end = Int(storage.pathEnds[range.upperBound - 1])
            let firstIndex = self.count
            let shift = Int64(self.pathBytes.count) - Int64(start)
            self.pathBytes.append(contentsOf: storage.pathBytes[start..<end])
            self.pathEnds.append(contentsOf: storage.pathEnds[range].lazy.map { UInt32(Int64($0) + shift) })
            self.kinds.append(contentsOf: storage.kinds[range])
            self.modes.append(contentsOf: storage.modes[range])
            self.sizes.append(contentsOf: storage.sizes[range])
            self.mtimeSeconds.append(contentsOf: storage.mtimeSeconds[range])
            self.mtimeNanoseconds.append(contentsOf: storage.mtimeNanoseconds[range])
            storage.pathBytes.withUnsafeBufferPointer { bytes in
                var pathStart = start
                for position in range {
                    let pathEnd = Int(storage.pathEnds[position])
                    self.digest.add(UnsafeBufferPointer(rebasing: bytes[pathStart..<pathEnd]))
                    pathStart = pathEnd
                    self.digest.add(UInt64(storage.kinds[position].rawValue) << 16 | UInt64(storage.modes[position]))
                    self.digest.add(storage.sizes[position])
                    self.digest.add(UInt64(bitPattern: storage.mtimeSeconds[position]))
                    self.digest.add(UInt64(storage.mtimeNanoseconds[position]))
                    if !storage.symlinkTargets.isEmpty, let target = storage.symlinkTargets[Int32(position)] {
                        self.symlinkTargets[Int32(firstIndex + position - range.lowerBound)] = target
                        self.digest.add(target.utf8)
                    }
                }
            }
        }

        public consuming func build() -> CatalogEntries {
            CatalogEntries(storage: Storage(self))
        }
    }

    let storage: Storage

    private init(storage: Storage) {
        self.storage = storage
    }

    public init(_ entries: some Collection<CatalogEntry>) {
        var builder = Builder()
        builder.reserveCapacity(entries: entries.count, pathBytes: entries.reduce(0) { $0 + $1.path.utf8.count })
        builder.append(contentsOf: entries)
        self = builder.build()
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

    /// How many path bytes the entries in `range` hold.
    func pathBytes(in range: Range<Int>) -> Int {
        guard !range.isEmpty else { return 0 }
        return self.pathRange(at: range.upperBound - 1).upperBound - self.pathRange(at: range.lowerBound).lowerBound
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
private struct Digest: Sendable {
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
