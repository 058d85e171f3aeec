import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One NFSv3 client session that lives across a test's steps: one process
/// (Python, raw sockets, calls built by hand, sharing no code with the
/// daemon), one TCP connection, one MNT. Handles it looked up stay valid
/// between commands, as a mounted kernel client's do, so a test can show
/// what a client that never remounts sees, and get the exact NFS status of
/// each call.
///
/// The test writes one command per line and reads one JSON object per line:
/// `mount`, `lookup PATH` (from the root, keeping every handle on the way),
/// `list PATH` (READDIR of a kept handle, every page), `read PATH OFFSET
/// COUNT`. Every answer has the call's `status` (nfsstat3, or -1 when the
/// server sent nothing within the session's socket timeout).
final class NFSSession {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered: [UInt8] = []
    let stderr = Pipe()

    /// Starts the session inside `namespace` (or here), talking to
    /// host:port for both MOUNT and NFS; each call waits at most
    /// `callTimeout` seconds for its reply.
    init(namespace: String?, host: String, port: Int, callTimeout: Double = 30) throws {
        let command = ["python3", "-c", Self.script, host, "\(port)", "\(callTimeout)"]
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = namespace.map { ["ip", "netns", "exec", $0] + command } ?? command
        self.process.standardInput = self.input
        self.process.standardOutput = self.output
        self.process.standardError = self.stderr
        try self.process.run()
    }

    deinit {
        try? self.input.fileHandleForWriting.close()
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        self.process.waitUntilExit()
    }

    /// Sends one command and returns its answer; throws when the session
    /// gives none within `timeout` seconds (longer than a call's timeout).
    func send(_ command: String, timeout: Double = 60) throws -> [String: Any] {
        self.input.fileHandleForWriting.write(Data((command + "\n").utf8))
        let line = try self.readLine(timeout: timeout, what: command)
        guard let answer = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw TestFailure("session answered \(command) with \(String(decoding: line, as: UTF8.self))")
        }
        return answer
    }

    /// The status of a command's call: nfsstat3, or -1 for no reply.
    func status(_ command: String) throws -> Int {
        try self.send(command)["status"] as? Int ?? -2
    }

    private func readLine(timeout: Double, what: String) throws -> [UInt8] {
        let descriptor = self.output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = self.buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(self.buffered[..<newline])
                self.buffered.removeFirst(newline + 1)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestFailure("the NFS session gave no answer to `\(what)` within \(timeout) s") }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000) + 1) >= 0 || errno == EINTR else {
                throw TestFailure("poll: \(String(cString: strerror(errno)))")
            }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else {
                let message = String(decoding: self.stderr.fileHandleForReading.availableData, as: UTF8.self)
                throw TestFailure("the NFS session ended during `\(what)`: \(message)")
            }
            self.buffered += chunk[..<count]
        }
    }

    static let script = #"""
        import json, socket, struct, sys
        host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        NFS, MOUNT = 100003, 100005
        def u32(v): return struct.pack('>I', v)
        def u64(v): return struct.pack('>Q', v)
        def opaque(b): return u32(len(b)) + b + b'\0' * ((4 - len(b) % 4) % 4)
        AUTH_SYS = u32(1) + opaque(u32(0) + opaque(b'session') + u32(0) + u32(0) + u32(0))
        class NoReply(Exception): pass
        s = socket.create_connection((host, port), timeout=timeout)
        xid = [0]
        def recvn(n):
            data = b''
            while len(data) < n:
                try: chunk = s.recv(n - len(data))
                except socket.timeout: raise NoReply()
                if not chunk: raise NoReply()
                data += chunk
            return data
        def call(program, procedure, args):
            xid[0] += 1
            body = u32(xid[0]) + u32(0) + u32(2) + u32(program) + u32(3) + u32(procedure) + AUTH_SYS + u32(0) + u32(0) + args
            s.sendall(u32(0x80000000 | len(body)) + body)
            record = b''
            while True:
                mark = struct.unpack('>I', recvn(4))[0]
                record += recvn(mark & 0x7fffffff)
                if mark & 0x80000000: break
            word = lambda at: struct.unpack('>I', record[at:at + 4])[0]
            if word(0) != xid[0] or word(8) != 0: raise Exception('reply %r' % record[:24])
            verifier = word(16)
            at = 20 + verifier + (4 - verifier % 4) % 4
            if word(at) != 0: raise Exception('accept_stat %d' % word(at))
            return record[at + 4:]
        class Reader:
            def __init__(self, data): self.data, self.at = data, 0
            def u32(self):
                self.at += 4
                return struct.unpack('>I', self.data[self.at - 4:self.at])[0]
            def u64(self):
                self.at += 8
                return struct.unpack('>Q', self.data[self.at - 8:self.at])[0]
            def opaque(self):
                n = self.u32()
                value = self.data[self.at:self.at + n]
                self.at += n + (4 - n % 4) % 4
                return value
            def skip_post_op(self):
                if self.u32(): self.at += 84
        handles = {}
        def run(words):
            if words[0] == 'mount':
                r = Reader(call(MOUNT, 1, opaque(b'/')))
                status = r.u32()
                if status == 0: handles[''] = r.opaque()
                return {'status': status}
            if words[0] == 'lookup':
                path = ''
                for name in words[1].strip('/').split('/'):
                    r = Reader(call(NFS, 3, opaque(handles[path]) + opaque(name.encode())))
                    status = r.u32()
                    if status != 0: return {'status': status, 'at': name}
                    path = (path + '/' + name).strip('/')
                    handles[path] = r.opaque()
                return {'status': 0}
            if words[0] == 'list':
                handle, cookie, verifier, names = handles[words[1].strip('/')], 0, b'\0' * 8, []
                for page in range(10000):
                    r = Reader(call(NFS, 16, opaque(handle) + u64(cookie) + verifier + u32(65536)))
                    status = r.u32()
                    r.skip_post_op()
                    if status != 0: return {'status': status}
                    verifier = r.data[r.at:r.at + 8]
                    r.at += 8
                    while r.u32():
                        r.u64()
                        name = r.opaque().decode()
                        cookie = r.u64()
                        if name not in ('.', '..'): names.append(name)
                    if r.u32(): return {'status': 0, 'names': names}
                return {'status': 0, 'names': names, 'truncated': True}
            if words[0] == 'read':
                handle, offset, count = handles[words[1].strip('/')], int(words[2]), int(words[3])
                r = Reader(call(NFS, 6, opaque(handle) + u64(offset) + u32(count)))
                status = r.u32()
                r.skip_post_op()
                if status != 0: return {'status': status}
                r.u32()
                eof = r.u32()
                return {'status': 0, 'eof': bool(eof), 'data': r.opaque().hex()}
            raise Exception('unknown command %r' % words)
        for line in sys.stdin:
            words = line.split()
            if not words: continue
            if words[0] == 'quit': break
            try: answer = run(words)
            except NoReply: answer = {'status': -1}
            print(json.dumps(answer), flush=True)
        """#
}
