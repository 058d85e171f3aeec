import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A network namespace that one test creates with `ip netns add` and always
/// deletes again, so that port 111 can be used without touching the host's.
///
/// Two ways into it:
/// - commands run through `exec`, under `ip netns exec` with a private tmpfs
///   on /run, so that libtirpc tools (rpcinfo) never reach a host rpcbind
///   through its UNIX socket /run/rpcbind.sock;
/// - `NamespaceThread`, a one-thread pool whose thread has entered the
///   namespace (and optionally a private mount namespace): sockets created on
///   that thread belong to the namespace, and so does every socket NIO
///   accepts from them.
final class TestNetworkNamespace: Sendable {
    static let ip = "/usr/sbin/ip"

    let name: String

    init() throws {
        self.name = "p2pfs-test-\(UInt32.random(in: 0...UInt32.max))"
        let added = try run(Self.ip, ["netns", "add", self.name], timeout: .seconds(10))
        guard added.status == 0 else { throw Failure(message: "ip netns add: \(added.output)") }
        let up = try run(Self.ip, ["netns", "exec", self.name, Self.ip, "link", "set", "lo", "up"], timeout: .seconds(10))
        guard up.status == 0 else {
            self.remove()
            throw Failure(message: "ip link set lo up: \(up.output)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { self.message }
    }

    var path: String { "/run/netns/\(self.name)" }

    /// The namespace's inode, to check that a thread really is inside it.
    var inode: UInt64? {
        var info = stat()
        guard stat(self.path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// Runs a shell command inside the namespace with a private /run.
    func exec(_ command: String, timeout: Duration = .seconds(20)) throws -> (status: Int32, output: String) {
        try run(Self.ip, ["netns", "exec", self.name, "/bin/sh", "-c", "mount -t tmpfs p2pfs-test /run && \(command)"], timeout: timeout)
    }

    func remove() {
        _ = try? run(Self.ip, ["netns", "delete", self.name], timeout: .seconds(10))
    }
}

/// The network namespace inode of the calling thread.
func currentThreadNetworkNamespace() -> UInt64? {
    var info = stat()
    guard stat("/proc/thread-self/ns/net", &info) == 0 else { return nil }
    return UInt64(info.st_ino)
}

/// A one-thread `NIOThreadPool` whose thread lives in a test's network
/// namespace. Also a `TaskExecutor`, so that async code that creates sockets
/// synchronously (NIO bootstraps do, on the calling thread) can be run there
/// with `withTaskExecutorPreference`.
final class NamespaceThread: TaskExecutor, Sendable {
    let pool: NIOThreadPool

    /// - Parameter runDirectory: when set, the thread also gets a private mount
    ///   namespace with this directory bind-mounted on /run.
    init(namespace: TestNetworkNamespace, runDirectory: String? = nil) async throws {
        self.pool = NIOThreadPool(numberOfThreads: 1)
        self.pool.start()
        let path = namespace.path
        do {
            try await self.pool.runIfActive {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw TestNetworkNamespace.Failure(message: "open \(path): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                if let runDirectory {
                    guard LinuxNamespaces.unshare(LinuxNamespaces.newMount) == 0 else { throw TestNetworkNamespace.Failure(message: "unshare: \(String(cString: strerror(errno)))") }
                    // Keep every mount made below inside this thread's namespace.
                    guard mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else {
                        throw TestNetworkNamespace.Failure(message: "mount --make-rprivate /: \(String(cString: strerror(errno)))")
                    }
                    guard mount(runDirectory, "/run", nil, UInt(MS_BIND), nil) == 0 else {
                        throw TestNetworkNamespace.Failure(message: "mount --bind \(runDirectory) /run: \(String(cString: strerror(errno)))")
                    }
                }
                guard LinuxNamespaces.setns(fd, LinuxNamespaces.newNetwork) == 0 else { throw TestNetworkNamespace.Failure(message: "setns: \(String(cString: strerror(errno)))") }
            }
        } catch {
            try? await self.pool.shutdownGracefully()
            throw error
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.pool.submit { state in
            // Never on another thread (it would be outside the namespace);
            // nothing is enqueued after `shutdown`.
            guard case .active = state else { return }
            job.runSynchronously(on: executor)
        }
    }

    /// Runs `body` as a task whose code runs on the namespace thread.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(self) { try await body() }
    }

    func shutdown() async {
        try? await self.pool.shutdownGracefully()
    }
}

/// `unshare(2)` and `setns(2)`, which Glibc's Swift module does not export
/// (they need _GNU_SOURCE), looked up in libc.
enum LinuxNamespaces {
    static let newMount: Int32 = 0x0002_0000  // CLONE_NEWNS
    static let newNetwork: Int32 = 0x4000_0000  // CLONE_NEWNET

    private typealias Unshare = @convention(c) (Int32) -> Int32
    private typealias SetNS = @convention(c) (Int32, Int32) -> Int32

    static func unshare(_ flags: Int32) -> Int32 {
        guard let symbol = dlsym(nil, "unshare") else { return -1 }
        return unsafeBitCast(symbol, to: Unshare.self)(flags)
    }

    static func setns(_ fd: Int32, _ type: Int32) -> Int32 {
        guard let symbol = dlsym(nil, "setns") else { return -1 }
        return unsafeBitCast(symbol, to: SetNS.self)(fd, type)
    }
}
