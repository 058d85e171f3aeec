import Namespace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The node's persistent state: its id, kept so that peers, and the kernel
/// clients of this node's NFS server, recognise it after a restart.
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

    /// Loads the node id, creating the directory and a fresh id on first use.
    public func loadNodeID() throws(DaemonConfigurationError) -> NodeID {
        try self.createDirectory()
        let file = self.path + "/node-id"
        if let text = Self.read(file) {
            guard let id = NodeID(hex: text.trimmingCharacters(in: " \n\t")) else {
                throw .stateDirectory(path: self.path, reason: "\(file) does not hold a node id; remove it to start as a new node")
            }
            return id
        }
        let id = NodeID.random()
        try self.write("\(id)\n", to: file)
        return id
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

    private static func read(_ file: String) -> String? {
        guard let handle = fopen(file, "r") else { return nil }
        defer { fclose(handle) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), handle) != nil else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private func write(_ text: String, to file: String) throws(DaemonConfigurationError) {
        let temporary = file + ".tmp"
        guard let handle = fopen(temporary, "w") else {
            throw .stateDirectory(path: self.path, reason: "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let ok = fputs(text, handle) >= 0 && fflush(handle) == 0 && fsync(fileno(handle)) == 0
        fclose(handle)
        guard ok, rename(temporary, file) == 0 else {
            throw .stateDirectory(path: self.path, reason: "cannot write \(file): \(String(cString: strerror(errno)))")
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var result = Substring(self)
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return String(result)
    }
}
