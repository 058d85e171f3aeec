import Foundation
import Testing
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Something a test needs from the machine rather than from the code under
/// test: a privilege, a tool from a system package, a network facility.
///
/// Suites and tests say what they need with `.requires(...)`. When it is
/// missing, a developer's run skips them with the reason; a CI run
/// (`CI=true`) fails them, naming what is missing, so that a job whose
/// machine lost a package cannot pass by testing less.
public enum Prerequisite: Sendable, Hashable, CustomStringConvertible {
    /// Effective user id 0.
    case root
    /// Root, and `ip netns add`/`delete` work (iproute2, a kernel that allows it).
    case networkNamespaces
    /// Commands found on PATH, all of them, and the package that provides them.
    case commands([String], package: String)
    /// An executable at a fixed path, and how it gets there.
    case executable(String, installedBy: String)
    /// A socket can bind ::1 (the loopback interface has IPv6).
    case ipv6Loopback
    /// `python3 -c 'import MODULE'` works, and how the module is installed.
    case pythonModule(String, installedBy: String)
    /// `unshare --user --map-root-user` works and the new namespace's
    /// inotify watch limit (`/proc/sys/user/max_inotify_watches`) can be set.
    case userNamespaceInotifyLimits

    /// nfs-cat, nfs-ls and nfs-cp.
    public static let libnfsUtils = Prerequisite.commands(["nfs-cat", "nfs-ls", "nfs-cp"], package: "libnfs-utils")
    public static let python3 = Prerequisite.commands(["python3"], package: "python3")
    public static let rpcbind = Prerequisite.executable("/usr/sbin/rpcbind", installedBy: "the rpcbind package")
    public static let rpcinfo = Prerequisite.executable("/usr/sbin/rpcinfo", installedBy: "the rpcbind package")
    /// python-zeroconf, an mDNS implementation that is not ours (`make setup` installs it).
    public static let pythonZeroconf = Prerequisite.pythonModule("zeroconf", installedBy: "python3 -m pip install zeroconf")
    /// Avahi, the mDNS responder of Debian desktops, with its D-Bus and
    /// browser (`make setup` installs them; nothing starts them on the host).
    public static let avahi = Prerequisite.commands(
        ["avahi-daemon", "avahi-browse", "dbus-daemon", "unshare", "nsenter"], package: "avahi-daemon, avahi-utils, dbus, util-linux"
    )
    /// prometheus_client, whose text parser is not ours (`make test-setup` installs it).
    public static let pythonPrometheusClient = Prerequisite.pythonModule(
        "prometheus_client", installedBy: "python3 -m pip install prometheus_client"
    )

    public var description: String {
        switch self {
        case .root: "root"
        case .networkNamespaces: "network namespaces (root and `ip netns`)"
        case .commands(let names, let package): "\(names.joined(separator: ", ")) (\(package))"
        case .executable(let path, let installedBy): "\(path) (\(installedBy))"
        case .ipv6Loopback: "IPv6 loopback (::1)"
        case .pythonModule(let module, let installedBy): "Python module \(module) (\(installedBy))"
        case .userNamespaceInotifyLimits: "user namespaces with their own inotify limits (unshare --user, Linux 5.11+)"
        }
    }

    /// Why the prerequisite is not met, or nil when it is. Probed once per
    /// process.
    public var missing: String? {
        if let known = Self.cache.withLock({ $0[self] }) { return known }
        // Probed outside the lock (a probe may ask another prerequisite);
        // two tests probing at once both get the same answer.
        let result = self.probe()
        Self.cache.withLock { $0[self] = .some(result) }
        return result
    }

    /// True when the run is a CI run: the environment says `CI=true`.
    public static var isCI: Bool {
        ProcessInfo.processInfo.environment["CI"] == "true"
    }

    private static let cache = Mutex<[Prerequisite: String?]>([:])

    private func probe() -> String? {
        switch self {
        case .root:
            return geteuid() == 0 ? nil : "not running as root (euid \(geteuid()))"
        case .networkNamespaces:
            if let notRoot = Prerequisite.root.missing { return notRoot }
            guard let ip = Self.onPath("ip") else { return "`ip` (iproute2) is not on PATH" }
            let name = "p2pfs-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let added = Self.run(ip, ["netns", "add", name])
            guard added.status == 0 else { return "`ip netns add` failed: \(added.output)" }
            _ = Self.run(ip, ["netns", "delete", name])
            return nil
        case .commands(let names, let package):
            let absent = names.filter { Self.onPath($0) == nil }
            return absent.isEmpty ? nil : "\(absent.joined(separator: ", ")) not on PATH (install \(package))"
        case .executable(let path, let installedBy):
            return FileManager.default.isExecutableFile(atPath: path) ? nil : "\(path) is missing (\(installedBy))"
        case .ipv6Loopback:
            return Self.bindIPv6Loopback()
        case .pythonModule(let module, _):
            guard let python = Self.onPath("python3") else { return "python3 is not on PATH (install python3)" }
            let imported = Self.run(python, ["-c", "import \(module)"])
            let why = imported.output.split(separator: "\n").last.map(String.init) ?? "exit status \(imported.status)"
            return imported.status == 0 ? nil : "\(python) cannot import \(module): \(why)"
        case .userNamespaceInotifyLimits:
            guard let unshare = Self.onPath("unshare") else { return "unshare (util-linux) is not on PATH" }
            let tried = Self.run(unshare, ["--user", "--map-root-user", "sh", "-c", "echo 3 > /proc/sys/user/max_inotify_watches"])
            return tried.status == 0 ? nil : "cannot set max_inotify_watches in a new user namespace: \(tried.output)"
        }
    }

    /// The full path of `command` on PATH, as `/usr/bin/env` would find it.
    static func onPath(_ command: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A plain TCP socket bound to [::1]:0: nil if it binds, else why not.
    /// Shares nothing with the code under test, so a bind bug there cannot
    /// pass for a machine without IPv6.
    static func bindIPv6Loopback() -> String? {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return "socket(AF_INET6): \(String(cString: strerror(errno)))" }
        defer { close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        address.sin6_port = 0
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        return rc == 0 ? nil : "bind [::1]:0: \(String(cString: strerror(errno)))"
    }

    private static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// A missing prerequisite in a CI run: the test fails with this error.
public struct MissingPrerequisite: Error, CustomStringConvertible {
    public let missing: [(Prerequisite, String)]

    public var description: String {
        "missing prerequisite (CI=true, so this fails instead of skipping): "
            + self.missing.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
    }
}

/// `.requires(...)`: skips (outside CI) or fails (CI) a suite or test whose
/// prerequisites are not all met.
public struct PrerequisiteTrait: TestTrait, SuiteTrait {
    public let prerequisites: [Prerequisite]

    public var isRecursive: Bool { false }

    public func prepare(for test: Test) async throws {
        let missing = self.prerequisites.compactMap { prerequisite in prerequisite.missing.map { (prerequisite, $0) } }
        guard !missing.isEmpty else { return }
        if Prerequisite.isCI {
            throw MissingPrerequisite(missing: missing)
        }
        let reason = "needs " + missing.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
        try await ConditionTrait.enabled(if: false, Comment(rawValue: reason)).prepare(for: test)
    }
}

extension Trait where Self == PrerequisiteTrait {
    /// Runs the suite or test only where every prerequisite is met; see
    /// `Prerequisite`.
    public static func requires(_ prerequisites: Prerequisite...) -> Self {
        PrerequisiteTrait(prerequisites: prerequisites)
    }
}
