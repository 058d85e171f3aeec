import Namespace
import Testing

/// `CatalogEntry` identity: by the bytes of its path and symlink target,
/// as the file system and the wire see them, and by every other field.
@Suite struct CatalogEntryTests {
    // Canonically equivalent, one `String` to Swift, the same length in
    // bytes (so a symlink's size cannot tell them apart either).
    static let composedFirst = "\u{E9}e\u{301}"
    static let decomposedFirst = "e\u{301}\u{E9}"

    static func link(_ path: String, to target: String) -> CatalogEntry {
        CatalogEntry(path: path, kind: .symlink, size: UInt64(target.utf8.count), mtime: Timestamp(seconds: 6), mode: 0o777, symlinkTarget: target)
    }

    @Test func entriesDifferingOnlyInNormalisationAreTwo() {
        #expect(Self.composedFirst == Self.decomposedFirst)
        #expect(Self.composedFirst.utf8.count == Self.decomposedFirst.utf8.count)
        let retargeted = (Self.link("latest", to: Self.composedFirst), Self.link("latest", to: Self.decomposedFirst))
        let renamed = (Self.link(Self.composedFirst, to: "x"), Self.link(Self.decomposedFirst, to: "x"))
        for (a, b) in [retargeted, renamed] {
            #expect(a != b)
            #expect(Set([a, b]).count == 2)
        }
        #expect(Self.link("latest", to: Self.composedFirst) == Self.link("latest", to: Self.composedFirst))
    }

    @Test func everyFieldCounts() {
        let base = CatalogEntry(path: "a", kind: .regular, size: 1, mtime: Timestamp(seconds: 1), mode: 0o644)
        var changed: [CatalogEntry] = []
        var entry = base
        entry.kind = .directory
        changed.append(entry)
        entry = base
        entry.size = 2
        changed.append(entry)
        entry = base
        entry.mtime = Timestamp(seconds: 1, nanoseconds: 1)
        changed.append(entry)
        entry = base
        entry.mode = 0o755
        changed.append(entry)
        entry = base
        entry.symlinkTarget = ""
        changed.append(entry)
        for other in changed { #expect(other != base) }
        #expect(Set(changed + [base]).count == changed.count + 1)
    }
}
