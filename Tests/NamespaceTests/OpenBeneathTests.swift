import CP2PFSSystem
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `p2pfs_open_beneath`, openat2 alone and the walk it falls back to on
/// kernels without openat2: each opens what lies beneath the root and
/// refuses every way out. The openat2 cases are reported as skipped where
/// the kernel has no openat2, never quietly run on the walk, and under
/// CI=true a missing openat2 fails the run.
@Suite struct OpenBeneathTests {
    enum Opener: String, CaseIterable, CustomTestStringConvertible {
        /// The entry point the file readers call.
        case openBeneath
        /// openat2 alone (ENOSYS without it).
        case openat2Only
        /// The fallback walk alone.
        case walkOnly
        var testDescription: String { self.rawValue }

        func open(_ root: CInt, _ path: String) -> (fd: CInt, errno: CInt) {
            let fd = switch self {
            case .openBeneath: p2pfs_open_beneath(root, path, O_RDONLY)
            case .openat2Only: p2pfs_open_beneath_openat2(root, path, O_RDONLY)
            case .walkOnly: p2pfs_open_beneath_walk(root, path, O_RDONLY)
            }
            let error = errno
            if fd >= 0 { close(fd) }
            return (fd, error)
        }
    }

    /// Whether this kernel (and build) has openat2.
    static let openat2Available: Bool = {
        let root = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(root) }
        let (fd, error) = Opener.openat2Only.open(root, "tmp")
        return fd >= 0 || (error != ENOSYS && error != EPERM)
    }()

    static let unavailable: Comment = "openat2 is not available here: only the fallback walk is tested"

    /// share/{file.txt, dir/inner.txt, up -> .., out -> ../outside,
    /// dir/secret -> /…/outside/secret}, outside/secret.
    final class Tree {
        let base: URL
        let root: CInt

        init() throws {
            let fm = FileManager.default
            self.base = fm.temporaryDirectory.appendingPathComponent("p2pfs-beneath-\(getpid())-\(UUID().uuidString.prefix(8))")
            let share = self.base.appendingPathComponent("share")
            let outside = self.base.appendingPathComponent("outside")
            try fm.createDirectory(at: share.appendingPathComponent("dir"), withIntermediateDirectories: true)
            try fm.createDirectory(at: outside, withIntermediateDirectories: true)
            try Data("secret".utf8).write(to: outside.appendingPathComponent("secret"))
            try Data("inside".utf8).write(to: share.appendingPathComponent("file.txt"))
            try Data("inner".utf8).write(to: share.appendingPathComponent("dir/inner.txt"))
            try fm.createSymbolicLink(atPath: share.appendingPathComponent("up").path, withDestinationPath: "..")
            try fm.createSymbolicLink(atPath: share.appendingPathComponent("out").path, withDestinationPath: "../outside")
            try fm.createSymbolicLink(
                atPath: share.appendingPathComponent("dir/secret").path, withDestinationPath: outside.appendingPathComponent("secret").path
            )
            try fm.createSymbolicLink(atPath: share.appendingPathComponent("dir/alias.txt").path, withDestinationPath: "inner.txt")
            self.root = Glibc.open(share.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard self.root >= 0 else { throw CocoaError(.fileNoSuchFile) }
        }

        deinit {
            close(self.root)
            try? FileManager.default.removeItem(at: self.base)
        }
    }

    @Test(arguments: [Opener.openBeneath, .walkOnly])
    func opensWhatIsBeneath(_ opener: Opener) throws {
        try Self.expectOpensWhatIsBeneath(opener)
    }

    @Test(arguments: [Opener.openBeneath, .walkOnly])
    func refusesEveryWayOut(_ opener: Opener) throws {
        try Self.expectRefusesEveryWayOut(opener)
    }

    @Test(.enabled(if: openat2Available, unavailable))
    func openat2OpensWhatIsBeneath() throws {
        try Self.expectOpensWhatIsBeneath(.openat2Only)
    }

    @Test(.enabled(if: openat2Available, unavailable))
    func openat2RefusesEveryWayOut() throws {
        try Self.expectRefusesEveryWayOut(.openat2Only)
    }

    /// The walk refuses "." components, openat2 does not: so a "." that
    /// opens shows the entry point took openat2, not the walk.
    @Test(.enabled(if: openat2Available, unavailable))
    func theEntryPointTakesOpenat2WhereTheKernelHasIt() throws {
        let tree = try Tree()
        #expect(Opener.walkOnly.open(tree.root, "dir/./inner.txt").fd == -1)
        #expect(Opener.openBeneath.open(tree.root, "dir/./inner.txt").fd >= 0)
    }

    /// CI runs on kernels with openat2 (5.6 and later): its absence there
    /// is a broken build or sandbox, not a reason to test the walk twice.
    @Test func openat2IsPresentUnderCI() {
        guard ProcessInfo.processInfo.environment["CI"] == "true" else { return }
        #expect(Self.openat2Available, "CI=true: openat2 is missing (ENOSYS or EPERM), the openat2 path went untested")
    }

    static func expectOpensWhatIsBeneath(_ opener: Opener) throws {
        let tree = try Tree()
        #expect(opener.open(tree.root, "file.txt").fd >= 0)
        #expect(opener.open(tree.root, "dir/inner.txt").fd >= 0)
        #expect(opener.open(tree.root, "dir").fd >= 0)
    }

    static func expectRefusesEveryWayOut(_ opener: Opener) throws {
        let tree = try Tree()
        let attempts = [
            "..", "../outside/secret", "dir/../../outside/secret", "/etc/passwd", "",  // leaving by name
            "up/outside/secret", "out/secret", "dir/secret",  // through symlinks, relative and absolute
            "dir/alias.txt",  // a symlink that stays inside is refused too: nothing is followed
        ]
        for path in attempts {
            let (fd, error) = opener.open(tree.root, path)
            #expect(fd == -1, "\(opener): \(path) opened")
            #expect([ELOOP, EXDEV, EINVAL, ENOTDIR].contains(error), "\(opener): \(path): errno \(error)")
        }
    }
}
