import Namespace
import P2PFSDaemon
import PeerProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Which identity `p2pfs peers --node` presents: the node's own from
/// `--state-dir`, else from the daemon's default state directory when its
/// key is readable, else a throwaway one; an unreadable `--state-dir` is an
/// error naming it. The tool reads a state directory, never makes one.
@Suite struct ControlIdentityTests {
    /// A state directory as a daemon leaves it; the node's id.
    static func nodeState(in temporary: TemporaryDirectory, _ name: String) throws -> (path: String, id: NodeID) {
        let path = temporary.path + "/" + name
        return (path, try NodeStateDirectory(path: path).loadCredentials().nodeID)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    @Test func anExplicitStateDirectoryIsUsed() throws {
        let temporary = TemporaryDirectory()
        let explicit = try Self.nodeState(in: temporary, "a")
        let fallback = try Self.nodeState(in: temporary, "default")
        let identity = try ControlIdentity.choose(stateDirectory: explicit.path, defaultPath: fallback.path)
        #expect(identity.credentials.nodeID == explicit.id)
        #expect(identity.source == .stateDirectory(explicit.path))
    }

    @Test func theDefaultStateDirectoryIsUsedWhenItsKeyIsReadable() throws {
        let temporary = TemporaryDirectory()
        let fallback = try Self.nodeState(in: temporary, "default")
        let identity = try ControlIdentity.choose(stateDirectory: nil, defaultPath: fallback.path)
        #expect(identity.credentials.nodeID == fallback.id)
        #expect(identity.source == .stateDirectory(fallback.path))
        #expect(identity.source.description == "the node identity in the state directory \(fallback.path)")
    }

    @Test func withoutAReadableDefaultTheIdentityIsAThrowawayAndNothingIsCreated() throws {
        let temporary = TemporaryDirectory()
        let missing = temporary.path + "/no-node-here"
        let first = try ControlIdentity.choose(stateDirectory: nil, defaultPath: missing)
        let second = try ControlIdentity.choose(stateDirectory: nil, defaultPath: missing)
        #expect(first.source == .throwaway)
        #expect(first.source.description == "a throwaway identity")
        // Made for one run: never the same twice.
        #expect(first.credentials.nodeID != second.credentials.nodeID)
        #expect(!Self.exists(missing))
    }

    @Test func anUnreadableExplicitStateDirectoryIsAnErrorNamingIt() throws {
        let temporary = TemporaryDirectory()
        let fallback = try Self.nodeState(in: temporary, "default")
        let missing = temporary.path + "/typo"
        let error = #expect(throws: DaemonConfigurationError.self) {
            _ = try ControlIdentity.choose(stateDirectory: missing, defaultPath: fallback.path)
        }
        #expect(error?.description == "state directory '\(missing)': cannot read \(missing)/node-key.pem: No such file or directory")
        // Not made either: the tool is not the node.
        #expect(!Self.exists(missing))
    }

    @Test func aKeyWithoutItsCertificateIsAnErrorNotAThrowaway() throws {
        let temporary = TemporaryDirectory()
        let state = try Self.nodeState(in: temporary, "half")
        unlink(NodeStateDirectory(path: state.path).certificateFile)
        for explicit in [state.path, nil] {
            let error = #expect(throws: DaemonConfigurationError.self) {
                _ = try ControlIdentity.choose(stateDirectory: explicit, defaultPath: state.path)
            }
            #expect(error?.description == "state directory '\(state.path)': cannot read \(state.path)/node-cert.pem: No such file or directory")
        }
    }

    @Test func readingCredentialsChangesNothing() throws {
        let temporary = TemporaryDirectory()
        let state = try Self.nodeState(in: temporary, "node")
        let directory = NodeStateDirectory(path: state.path)
        unlink(directory.nodeIDFile)
        #expect(try directory.readCredentials().nodeID == state.id)
        // The daemon writes node-id on start; a reader does not.
        #expect(!Self.exists(directory.nodeIDFile))
    }
}
