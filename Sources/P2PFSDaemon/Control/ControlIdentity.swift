import PeerProtocol

/// The key and certificate `p2pfs peers --node` / `ls --node` present to a
/// node's peer listener (TLS), and where they came from.
///
/// A node with a `--trust` list admits only the listed ids, so the tool
/// presents the identity of the node on this machine when it can read it:
/// from `--state-dir`, or else from the daemon's default state directory.
/// Where neither applies it makes a throwaway identity, which only a node
/// without a `--trust` list admits. The tool never creates or changes a
/// state directory.
public struct ControlIdentity: Sendable {
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// The node's own key, read from this state directory.
        case stateDirectory(String)
        /// A key made for this one run.
        case throwaway

        public var description: String {
            switch self {
            case .stateDirectory(let path): "the node identity in the state directory \(path)"
            case .throwaway: "a throwaway identity"
            }
        }
    }

    public let credentials: NodeCredentials
    public let source: Source

    public init(credentials: NodeCredentials, source: Source) {
        self.credentials = credentials
        self.source = source
    }

    /// The identity for one run of the tool.
    ///
    /// - Parameters:
    ///   - stateDirectory: `--state-dir`, when given: it must be readable
    ///     (an error names the path and the problem otherwise).
    ///   - defaultPath: the daemon's default state directory, used when its
    ///     key is readable by this user.
    public static func choose(
        stateDirectory: String?, defaultPath: String = NodeStateDirectory.defaultPath()
    ) throws(DaemonConfigurationError) -> ControlIdentity {
        if let stateDirectory {
            let credentials = try NodeStateDirectory(path: stateDirectory).readCredentials()
            return ControlIdentity(credentials: credentials, source: .stateDirectory(stateDirectory))
        }
        let fallback = NodeStateDirectory(path: defaultPath)
        if fallback.isKeyReadable {
            // Readable, so meant to be used: a broken pair is an error, not
            // a silent switch to an identity no --trust list holds.
            return ControlIdentity(credentials: try fallback.readCredentials(), source: .stateDirectory(defaultPath))
        }
        do {
            return ControlIdentity(credentials: try NodeCredentials.generate(), source: .throwaway)
        } catch {
            throw .stateDirectory(path: defaultPath, reason: "no readable node key here, and cannot make a throwaway one: \(error)")
        }
    }
}
