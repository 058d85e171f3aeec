import Namespace
import PeerProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The node's persistent state: its key and certificate, from which its id
/// is derived, kept so that peers, and the kernel clients of this node's
/// NFS server, recognise it after a restart.
public struct NodeStateDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The default: `$STATE_DIRECTORY` under systemd, `/var/lib/p2pfs` for
    /// root, `$XDG_STATE_HOME/p2pfs` (or `~/.local/state/p2pfs`) otherwise.
    public static func defaultPath() -> String {
        // systemd's StateDirectory= (p2pfs.service: /var/lib/p2pfs,
        // p2pfs@NAME.service: /var/lib/p2pfs/NAME); the first if several.
        if let state = getenv("STATE_DIRECTORY").map({ String(cString: $0) }), let first = state.split(separator: ":").first {
            return String(first)
        }
        if geteuid() == 0 { return "/var/lib/p2pfs" }
        if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), !state.isEmpty {
            return state + "/p2pfs"
        }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.local/state/p2pfs"
    }

    /// The node's private key (PKCS #8 PEM), mode 0600.
    public var privateKeyFile: String { self.path + "/node-key.pem" }
    /// The node's self-signed certificate (PEM), mode 0600.
    public var certificateFile: String { self.path + "/node-cert.pem" }

    /// Loads the node's key and certificate, creating the directory and a
    /// fresh pair on first use. The node id is derived from the key, so
    /// deleting both files makes a new node (key rotation).
    public func loadCredentials() throws(DaemonConfigurationError) -> NodeCredentials {
        let credentials = try self.loadOrMakeCredentials()
        // The id in hex, for people and scripts (`node-id`); never read
        // back: the key is what the id comes from.
        let idLine = "\(credentials.nodeID)\n"
        if Self.readAll(self.nodeIDFile) != idLine {
            try self.write(idLine, to: self.nodeIDFile)
        }
        return credentials
    }

    /// Reads the key and certificate a node keeps here, changing nothing
    /// (for the CLI, which presents the node's identity but is not the
    /// node: it never creates a directory or a key).
    public func readCredentials() throws(DaemonConfigurationError) -> NodeCredentials {
        let key = try self.readExisting(self.privateKeyFile)
        let certificate = try self.readExisting(self.certificateFile)
        do {
            return try NodeCredentials(privateKeyPEM: key, certificatePEM: certificate)
        } catch {
            throw .stateDirectory(
                path: self.path, reason: "\(self.privateKeyFile) and \(self.certificateFile) do not hold a node's key and certificate (\(error))"
            )
        }
    }

    /// Whether this user can open the node's key (the file exists and is
    /// readable), without reading it.
    public var isKeyReadable: Bool {
        guard let handle = fopen(self.privateKeyFile, "r") else { return false }
        fclose(handle)
        return true
    }

    private func readExisting(_ file: String) throws(DaemonConfigurationError) -> String {
        guard let handle = fopen(file, "r") else {
            throw .stateDirectory(path: self.path, reason: "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        let text = Self.readWhole(handle)
        if ferror(handle) != 0 {
            throw .stateDirectory(path: self.path, reason: "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        return text
    }

    /// The node id in hex, written from the key on every start.
    public var nodeIDFile: String { self.path + "/node-id" }

    private func loadOrMakeCredentials() throws(DaemonConfigurationError) -> NodeCredentials {
        try self.createDirectory()
        let keyText = Self.readAll(self.privateKeyFile)
        let certificateText = Self.readAll(self.certificateFile)
        switch (keyText, certificateText) {
        case (let key?, let certificate?):
            do {
                return try NodeCredentials(privateKeyPEM: key, certificatePEM: certificate)
            } catch {
                throw .stateDirectory(
                    path: self.path,
                    reason: "\(self.privateKeyFile) and \(self.certificateFile) do not hold this node's key and certificate (\(error)); remove both to start as a new node"
                )
            }
        case (nil, nil):
            let credentials: NodeCredentials
            do {
                credentials = try NodeCredentials.generate()
            } catch {
                throw .stateDirectory(path: self.path, reason: "cannot make a key and certificate: \(error)")
            }
            try self.write(credentials.privateKeyPEM, to: self.privateKeyFile)
            try self.write(credentials.certificatePEM, to: self.certificateFile)
            return credentials
        case (nil, _?), (_?, nil):
            let missing = keyText == nil ? self.privateKeyFile : self.certificateFile
            throw .stateDirectory(path: self.path, reason: "\(missing) is missing; remove the other file too to start as a new node")
        }
    }

    private func createDirectory() throws(DaemonConfigurationError) {
        var components: [String] = []
        for part in self.path.split(separator: "/") {
            components.append(String(part))
            let prefix = (self.path.hasPrefix("/") ? "/" : "") + components.joined(separator: "/")
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .stateDirectory(path: self.path, reason: String(cString: strerror(errno)))
            }
        }
        var info = stat()
        guard stat(self.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw .stateDirectory(path: self.path, reason: "not a directory")
        }
    }

    /// A small file's whole content; nil when it does not exist.
    private static func readAll(_ file: String) -> String? {
        guard let handle = fopen(file, "r") else { return nil }
        defer { fclose(handle) }
        return Self.readWhole(handle)
    }

    /// An open small file's content (up to 1 MiB).
    private static func readWhole(_ handle: UnsafeMutablePointer<FILE>) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes a file whole (through a temporary and rename), readable by
    /// its owner only: it may be a private key.
    private func write(_ text: String, to file: String) throws(DaemonConfigurationError) {
        let temporary = file + ".tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0, let handle = fdopen(descriptor, "w") else {
            throw .stateDirectory(path: self.path, reason: "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let ok = fputs(text, handle) >= 0 && fflush(handle) == 0 && fsync(fileno(handle)) == 0
        fclose(handle)
        guard ok, rename(temporary, file) == 0 else {
            throw .stateDirectory(path: self.path, reason: "cannot write \(file): \(String(cString: strerror(errno)))")
        }
    }
}
