import Namespace
import Testing

@Suite struct CatalogEntriesTests {
    static let entries: [CatalogEntry] = [
        CatalogEntry(path: "movies", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755),
        CatalogEntry(path: "movies/KillBill", kind: .regular, size: 1234, mtime: Timestamp(seconds: 5, nanoseconds: 7), mode: 0o644),
        CatalogEntry(path: "movies/latest", kind: .symlink, size: 8, mtime: Timestamp(seconds: 6), mode: 0o777, symlinkTarget: "KillBill"),
        CatalogEntry(path: "movies/Ünïcode", kind: .regular, size: 0, mtime: Timestamp(seconds: 9), mode: 0o600),
    ]

    @Test func storesEveryFieldOfEveryEntry() {
        let stored = CatalogEntries(Self.entries)
        #expect(stored.count == 4)
        #expect(Array(stored) == Self.entries)
    }

    /// A catalog fetched page by page is the same catalog as one built at once.
    @Test func builtPageByPageEqualsBuiltAtOnce() {
        var builder = CatalogEntries.Builder()
        builder.append(contentsOf: Self.entries.prefix(1))
        builder.append(contentsOf: Self.entries.dropFirst().prefix(2))
        builder.append(Self.entries[3])
        #expect(builder.count == 4)
        let paged = builder.build()
        #expect(Array(paged) == Self.entries)
        #expect(paged == CatalogEntries(Self.entries))
        #expect(paged[2].symlinkTarget == "KillBill")
    }

    @Test func catalogsThatDifferInAnyFieldDiffer() {
        let original = CatalogEntries(Self.entries)
        var changed = Self.entries
        changed[1].mtime = Timestamp(seconds: 5, nanoseconds: 8)
        #expect(CatalogEntries(changed) != original)
        changed = Self.entries
        changed[2].symlinkTarget = "elsewhere"
        #expect(CatalogEntries(changed) != original)
        #expect(CatalogEntries(Array(Self.entries.dropLast())) != original)
    }
}
