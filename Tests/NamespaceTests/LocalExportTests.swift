import Namespace
import Testing

/// `LocalExport`: the command-line form, and identity by bytes, which a
/// configuration reload relies on to tell a changed export from the same.
@Suite struct LocalExportTests {
    static let nfc = "caf\u{E9}"
    static let nfd = "cafe\u{301}"

    @Test func parsesNameEqualsPath() throws {
        let export = try LocalExport(argument: "movies=/srv/movies=old")
        #expect(export.name == "movies")
        #expect(export.path == "/srv/movies=old")
        #expect(throws: LocalExportError.malformedArgument("movies")) { try LocalExport(argument: "movies") }
        #expect(throws: LocalExportError.malformedArgument("movies=")) { try LocalExport(argument: "movies=") }
    }

    @Test func exportsDifferingOnlyInNormalisationAreTwo() {
        // One `String` to Swift, two byte sequences on disk and on the wire.
        #expect(Self.nfc == Self.nfd)
        let byPath = (LocalExport(name: "share", path: "/srv/\(Self.nfc)"), LocalExport(name: "share", path: "/srv/\(Self.nfd)"))
        let byName = (LocalExport(name: Self.nfc, path: "/srv/x"), LocalExport(name: Self.nfd, path: "/srv/x"))
        for (a, b) in [byPath, byName] {
            #expect(a != b)
            #expect(Set([a, b]).count == 2)
            // What a reload computes: the new one added, the old one removed.
            #expect([a].filter { ![b].contains($0) } == [a])
        }
        #expect(LocalExport(name: "share", path: "/srv/\(Self.nfc)") == LocalExport(name: "share", path: "/srv/\(Self.nfc)"))
    }
}
