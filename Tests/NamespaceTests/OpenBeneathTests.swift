import CP2PFSSystem
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `p2pfs_open_beneath` and the walk it falls back to on kernels without
/// openat2: both open what lies beneath the root and refuse every way out.
@Suite struct OpenBeneathTests {
    enum Opener: String, CaseIterable, CustomTestStringConvertible {
        case openat2OrWalk, walkOnly
        var testDescription: String { self.rawValue }

        func open(_ root: CInt, _ path: String) -> (fd: CInt, errno: CInt) {
            let fd = switch self {
            case .openat2OrWalk: p2pfs_open_beneath(root, path, O_RDONLY)
            case .walkOnly: p2pfs_open_beneath_walk(root, path, O_RDONLY)
            }
            let error = errno
            if fd >= 0 { close(fd) }
            return (fd, error)
        }
    }

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

    @Test(arguments: Opener.allCases)
    func opensWhatIsBeneath(_ opener: Opener) throws {
        let tree = try Tree()
        #expect(opener.open(tree.root, "file.txt").fd >= 0)
        #expect(opener.open(tree.root, "dir/inner.txt").fd >= 0)
        #expect(opener.open(tree.root, "dir").fd >= 0)
    }

    @Test(arguments: Opener.allCases)
    func refusesEveryWayOut(_ opener: Opener) throws {
        let tree = try Tree()
        let attempts = [
            "..", "../outside/secret", "dir/../../outside/secret", "/etc/passwd", "",  // leaving by name
            "up/outside/secret", "out/secret", "dir/secret",  // through symlinks, relative and absolute
            "dir/alias.txt",  // a symlink that stays inside is refused too: nothing is followed
        ]
        for path in attempts {
            let (fd, error) = opener.open(tree.root, path)
            #expect(fd == -1, "\(path) opened")
            #expect([ELOOP, EXDEV, EINVAL, ENOTDIR].contains(error), "\(path): errno \(error)")
        }
    }
}
