import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately dumb RPC-over-TCP client for hostile tests: it sends
/// whatever bytes it is told (well-formed or not), with blocking sockets and
/// timeouts, and shares no code with the server it attacks.
final class RawRPCSocket {
    let descriptor: Int32

    init(host: String, port: Int, timeout: Double = 5) throws {
        self.descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard self.descriptor >= 0 else { throw TestFailure("socket: \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        setsockopt(self.descriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(self.descriptor, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(self.descriptor)
            throw TestFailure("connect \(host):\(port): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        close(self.descriptor)
    }

    /// This end's port (getsockname).
    var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(self.descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// The errno of the last send that failed (EAGAIN: blocked past the
    /// timeout; EPIPE/ECONNRESET: the peer closed).
    private(set) var sendError: Int32 = 0

    /// Sends raw bytes; false if the peer has closed or the send blocked
    /// past the timeout (see `sendError`).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                self.sendError = n < 0 ? errno : 0
                return false
            }
            sent += n
        }
        return true
    }

    /// Half-closes: the server reads end of file, we can still read.
    func shutdownWrite() {
        shutdown(self.descriptor, Int32(SHUT_WR))
    }

    /// Everything the server sends until it closes the connection; nil if
    /// it has not closed within the socket timeout.
    func readUntilClosed() -> [UInt8]? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<10_000 {
            let n = recv(self.descriptor, &buffer, buffer.count, 0)
            if n == 0 { return received }
            if n < 0 { return errno == ECONNRESET ? received : nil }
            received += buffer[..<n]
        }
        return nil
    }

    /// Sends `payload` as one record (one last fragment).
    @discardableResult
    func sendRecord(_ payload: [UInt8]) -> Bool {
        self.send(Self.u32(0x8000_0000 | UInt32(payload.count)) + payload)
    }

    /// Reads one reply record; nil on close or timeout.
    func readRecord() -> [UInt8]? {
        var record: [UInt8] = []
        while true {
            guard let marker = self.read(4) else { return nil }
            let value = UInt32(marker[0]) << 24 | UInt32(marker[1]) << 16 | UInt32(marker[2]) << 8 | UInt32(marker[3])
            let length = Int(value & 0x7FFF_FFFF)
            guard length <= 8 << 20, let fragment = self.read(length) else { return nil }
            record += fragment
            if value & 0x8000_0000 != 0 { return record }
        }
    }

    /// True when the server closed the connection (reads hit EOF) within
    /// the socket timeout, draining anything it sent first.
    func isClosedByServer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<10_000 {
            let n = recv(self.descriptor, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
        return false
    }

    private func read(_ count: Int) -> [UInt8]? {
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = result[done...].withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            done += n
        }
        return result
    }

    // MARK: Building calls by hand (RFC 5531)

    static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func u64(_ value: UInt64) -> [UInt8] {
        u32(UInt32(value >> 32)) + u32(UInt32(value & 0xFFFF_FFFF))
    }

    static func opaque(_ bytes: [UInt8]) -> [UInt8] {
        u32(UInt32(bytes.count)) + bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
    }

    /// An AUTH_SYS credential body for uid/gid 0.
    static let authSys: [UInt8] = u32(0) + opaque(Array("tester".utf8)) + u32(0) + u32(0) + u32(0)

    static func call(
        xid: UInt32, program: UInt32, version: UInt32, procedure: UInt32, rpcVersion: UInt32 = 2,
        credentialFlavor: UInt32 = 1, credential: [UInt8] = authSys, arguments: [UInt8] = []
    ) -> [UInt8] {
        u32(xid) + u32(0) + u32(rpcVersion) + u32(program) + u32(version) + u32(procedure)
            + u32(credentialFlavor) + opaque(credential) + u32(0) + u32(0) + arguments
    }

    /// Parses a reply: (xid, accepted?, status word, remaining bytes).
    struct Reply {
        var xid: UInt32
        var isAccepted: Bool
        /// accept_stat when accepted, reject_stat when denied.
        var status: UInt32
        var rest: [UInt8]

        init?(_ record: [UInt8]) {
            guard record.count >= 12 else { return nil }
            func word(_ at: Int) -> UInt32 {
                UInt32(record[at]) << 24 | UInt32(record[at + 1]) << 16 | UInt32(record[at + 2]) << 8 | UInt32(record[at + 3])
            }
            self.xid = word(0)
            guard word(4) == 1 else { return nil }
            self.isAccepted = word(8) == 0
            if self.isAccepted {
                let verifierLength = Int(word(16))
                let statusAt = 20 + verifierLength + (4 - verifierLength % 4) % 4
                guard record.count >= statusAt + 4 else { return nil }
                self.status = word(statusAt)
                self.rest = Array(record[(statusAt + 4)...])
            } else {
                self.status = word(12)
                self.rest = Array(record[16...])
            }
        }

        func word(_ index: Int) -> UInt32 {
            let at = index * 4
            return UInt32(self.rest[at]) << 24 | UInt32(self.rest[at + 1]) << 16 | UInt32(self.rest[at + 2]) << 8 | UInt32(self.rest[at + 3])
        }
    }
}
