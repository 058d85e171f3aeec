import Foundation
import P2PFSDaemon

#if canImport(Glibc)
import Glibc
#endif

/// A node key and certificate for a test client, made the way a node makes
/// its own (`NodeStateDirectory`), in files a TLS client can load.
struct TestNodeCredentials {
    let keyFile: String
    let certificateFile: String
    /// The node id the certificate proves (32 hex digits).
    let nodeID: String

    init(directory: URL, name: String) throws {
        let path = directory.appendingPathComponent("credentials-\(name)").path
        let state = NodeStateDirectory(path: path)
        let credentials = try state.loadCredentials()
        self.keyFile = state.privateKeyFile
        self.certificateFile = state.certificateFile
        self.nodeID = "\(credentials.nodeID)"
    }
}

/// The raw peer-protocol tests speak ONC RPC by hand over a plain socket;
/// since protocol version 2 a peer listener speaks only TLS. This tunnel (a
/// Python child sharing no code with the daemon: its `ssl` module, a
/// client certificate of the test's) listens on 127.0.0.1 and carries each
/// connection over its own TLS session to the peer listener.
/// (Sendable for the fixtures that hold it: its state is set once in init,
/// and `stop` is only called by the owner at the end.)
final class PeerTLSTunnel: @unchecked Sendable {
    let port: Int
    private let process: Process

    init(to host: String, port target: Int, credentials: TestNodeCredentials) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", Self.script, host, String(target), credentials.certificateFile, credentials.keyFile,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        // The first line is the port it listens on.
        var line = Data()
        let reader = out.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw TestFailure("the TLS tunnel did not start")
        }
        self.port = port
    }

    func stop() {
        guard self.process.isRunning else { return }
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    deinit {
        self.stop()
    }

    static let script = #"""
        import select, socket, ssl, sys, threading
        host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.load_cert_chain(cert, key)
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(64)
        print(listener.getsockname()[1], flush=True)
        def serve(plain):
            try:
                tls = context.wrap_socket(socket.create_connection((host, port), timeout=30))
                tls.settimeout(None)
            except OSError:
                plain.close()
                return
            # One thread per connection, both directions: an SSL object is
            # not to be read and written from two threads at once.
            try:
                while True:
                    ready = [tls] if tls.pending() else select.select([plain, tls], [], [])[0]
                    for source in ready:
                        data = source.recv(1 << 16)
                        if not data: raise EOFError
                        (tls if source is plain else plain).sendall(data)
            except (OSError, EOFError):
                pass
            for s in (plain, tls):
                try: s.close()
                except OSError: pass
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """#
}
