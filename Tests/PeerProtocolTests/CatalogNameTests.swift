import Logging
import Namespace
import NIOCore
import PeerProtocol
import Testing

/// Catalog paths are byte strings on the wire: names that are not UTF-8
/// arrive with their exact bytes, names that cannot be served are refused
/// and counted by reason.
@Suite struct CatalogNameTests {
    static func entry(_ path: String) -> CatalogEntry {
        CatalogEntry(path: path, kind: .regular, size: 1, mtime: Timestamp(seconds: 1), mode: 0o644)
    }

    @Test func nonUTF8PathsCrossTheWireWithTheirBytes() async throws {
        let latin1 = NameBytes.string([0x63, 0x61, 0x66, 0xE9])
        let high = NameBytes.string(Array(0x80...0xFF))
        let target = NameBytes.string([0x2E, 0x2E, 0x2F, 0xE9])
        let peer = try await LoopbackPeer(entries: [
            Self.entry("d/" + latin1), Self.entry("d/" + high),
            CatalogEntry(path: "d/link", kind: .symlink, mtime: Timestamp(seconds: 1), mode: 0o777, symlinkTarget: target),
        ])
        let connection = try await PeerConnection.connect(
            to: peer.address, group: LoopbackPeer.group, connectTimeout: .seconds(1), tls: nil, logger: Logger(label: "t")
        )
        defer { connection.close() }
        let catalog = try await connection.catalog(timeout: .seconds(2))
        #expect(catalog.entries.map { NameBytes.bytes($0.path) } == [
            Array("d/".utf8) + [0x63, 0x61, 0x66, 0xE9], Array("d/".utf8) + Array(0x80...0xFF), Array("d/link".utf8),
        ])
        #expect(catalog.entries.last?.symlinkTarget.map { NameBytes.bytes($0) } == [0x2E, 0x2E, 0x2F, 0xE9])
        #expect(catalog.refused.isEmpty)
    }

    @Test func pathsThatCannotBeServedAreRefusedByReason() async throws {
        let peer = try await LoopbackPeer(entries: [
            Self.entry("fine"), Self.entry("/abs"), Self.entry("a//b"), Self.entry("a\u{0}b"), Self.entry("../up"),
            Self.entry("a/" + String(repeating: "x", count: 256)), Self.entry("a/" + NameBytes.string([UInt8](repeating: 0xE9, count: 255))),
        ])
        let connection = try await PeerConnection.connect(
            to: peer.address, group: LoopbackPeer.group, connectTimeout: .seconds(1), tls: nil, logger: Logger(label: "t")
        )
        defer { connection.close() }
        let catalog = try await connection.catalog(timeout: .seconds(2))
        #expect(catalog.entries.count == 2, "the valid name and the 255-byte non-UTF-8 one")
        #expect(catalog.refused.counts == [.slash: 2, .nul: 1, .dot: 1, .tooLong: 1])
        #expect(catalog.refused.examples[.nul] == "a\u{0}b")
    }
}
