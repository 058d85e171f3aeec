/// Everything one node offers, and how to read it.
///
/// `generation` changes whenever the entries do, so a client can ask a peer
/// "changed since G?" instead of fetching the catalog again.
public struct SourceCatalog: Sendable {
    public var origin: NodeIdentity
    public var generation: UInt64
    public var entries: CatalogEntries
    public var reader: any FileReader
    /// Local sources are read first when a file has several.
    public var isLocal: Bool

    public init(origin: NodeIdentity, generation: UInt64, entries: CatalogEntries, reader: any FileReader, isLocal: Bool) {
        self.origin = origin
        self.generation = generation
        self.entries = entries
        self.reader = reader
        self.isLocal = isLocal
    }

    public init(origin: NodeIdentity, generation: UInt64, entries: [CatalogEntry], reader: any FileReader, isLocal: Bool) {
        self.init(origin: origin, generation: generation, entries: CatalogEntries(entries), reader: reader, isLocal: isLocal)
    }
}
