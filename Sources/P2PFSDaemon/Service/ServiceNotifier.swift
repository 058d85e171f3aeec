#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// systemd's readiness protocol (sd_notify(3)): one datagram of
/// `NAME=VALUE` lines to the Unix socket named by `NOTIFY_SOCKET`, for a
/// `Type=notify` service. Small enough to write rather than link libsystemd.
///
/// The daemon sends `READY=1` once its listeners answer, `STOPPING=1` when it
/// begins to shut down, `RELOADING=1`/`READY=1` around a reload, and
/// `WATCHDOG=1` every half `WatchdogSec=` when the unit sets one.
public struct ServiceNotifier: Sendable {
    /// The socket's address as `NOTIFY_SOCKET` gives it: a path, or
    /// `@name` for an abstract socket.
    public let socketPath: String

    /// nil when `NOTIFY_SOCKET` is unset or empty (not started by systemd),
    /// or names no Unix socket systemd would use.
    public init?(socketPath: String?) {
        guard let socketPath, socketPath.hasPrefix("/") || socketPath.hasPrefix("@"),
            socketPath.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        else { return nil }
        self.socketPath = socketPath
    }

    /// The notifier of this process's environment.
    public static func fromEnvironment() -> ServiceNotifier? {
        ServiceNotifier(socketPath: getenv("NOTIFY_SOCKET").map { String(cString: $0) })
    }

    /// Sends `assignments` (e.g. `["READY=1", "STATUS=serving"]`) as one datagram.
    /// Never blocks: the socket is non-blocking and a full queue is an error.
    public func notify(_ assignments: [String]) throws(ServiceNotifierError) {
        let message = assignments.joined(separator: "\n")
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw .system(operation: "socket", errno: errno) }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(self.socketPath.utf8)
        // "@name" is Linux's abstract namespace: a leading NUL, no terminator.
        let isAbstract = path.first == UInt8(ascii: "@")
        if isAbstract { path[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (isAbstract ? 0 : 1))
        let sent = message.utf8CString.withUnsafeBytes { body in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddress in
                    sendto(descriptor, body.baseAddress, body.count - 1, Int32(MSG_NOSIGNAL), sockaddress, length)
                }
            }
        }
        guard sent >= 0 else { throw .system(operation: "sendto \(self.socketPath)", errno: errno) }
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set
    /// for this process (`WATCHDOG_PID` unset or ours); nil otherwise.
    public static func watchdogInterval(usec: String?, pid: String?, ownPID: Int32 = getpid()) -> Duration? {
        guard let usec, let microseconds = UInt64(usec), microseconds > 0 else { return nil }
        if let pid, !pid.isEmpty, Int32(pid) != ownPID { return nil }
        return .microseconds(Int64(clamping: microseconds / 2))
    }

    /// `watchdogInterval` of this process's environment.
    public static func watchdogIntervalFromEnvironment() -> Duration? {
        Self.watchdogInterval(
            usec: getenv("WATCHDOG_USEC").map { String(cString: $0) }, pid: getenv("WATCHDOG_PID").map { String(cString: $0) }
        )
    }
}

/// Why a notification could not be sent.
public enum ServiceNotifierError: Error, Equatable, Sendable, CustomStringConvertible {
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .system(let operation, let code): "service notification: \(operation): \(String(cString: strerror(code)))"
        }
    }
}
