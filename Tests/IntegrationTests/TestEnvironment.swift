import Foundation
import TestPrerequisites

/// Where the things integration tests drive live, and what the machine allows.
enum TestEnvironment {
    /// The p2pfs binary built next to the test bundle (or `P2PFS_BIN`).
    static var p2pfs: String {
        if let explicit = ProcessInfo.processInfo.environment["P2PFS_BIN"] { return explicit }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        // The test bundle may be a directory (…/p2pfsPackageTests.xctest/…).
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("p2pfs").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/p2pfs").path
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The libnfs load generator built by `make` (Benchmarks/bin/nfsload).
    static var nfsload: String {
        packageRoot.appendingPathComponent("Benchmarks/bin/nfsload").path
    }

    /// A fresh directory under the system temporary directory.
    static func makeTemporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// An `nfs://` URL for libnfs tools, with the ports given explicitly so
    /// no portmapper is needed.
    static func nfsURL(host: String, port: Int, path: String) -> String {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        return "nfs://\(host)/\(trimmed)?version=3&nfsport=\(port)&mountport=\(port)"
    }
}

extension Prerequisite {
    /// The libnfs load generator, built by `make bench-tools`.
    static var nfsload: Prerequisite { .executable(TestEnvironment.nfsload, installedBy: "make bench-tools") }
}
