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

    /// Ranges copied from other catalogs (how a local export's catalog is
    /// patched) give the catalog appending those entries one by one gives,
    /// symlink targets and digest included.
    @Test func rangesCopiedFromOtherCatalogsEqualTheEntriesAppended() {
        let source = CatalogEntries(Self.entries)
        let other = CatalogEntries([CatalogEntry(path: "shows/Pilot", kind: .regular, size: 9, mtime: Timestamp(seconds: 3), mode: 0o644)])
        var builder = CatalogEntries.Builder()
        builder.append(contentsOf: source, range: 2..<4)
        builder.append(contentsOf: other, range: 0..<1)
        builder.append(contentsOf: source, range: 1..<1)
        builder.append(contentsOf: source, range: 0..<2)
        let copied = builder.build()
        let expected = [Self.entries[2], Self.entries[3], Array(other)[0], Self.entries[0], Self.entries[1]]
        #expect(Array(copied) == expected)
        #expect(copied == CatalogEntries(expected))
        #expect(copied[0].symlinkTarget == "KillBill")
        #expect(copied[4].symlinkTarget == nil)
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
