import Crypto
import Namespace
import P2PFSDaemon
import PeerProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `NodeStateDirectory`: the node's key and certificate are made once and
/// kept across restarts (peers and mounted kernels recognise the node by the
/// id derived from the key), readable by the owner only; contents that are
/// not a key and its certificate are refused with a message saying which
/// files and what to do, never silently replaced.
@Suite struct NodeStateDirectoryTests {
    static func mode(_ file: String) -> mode_t? {
        var info = stat()
        guard stat(file, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    @Test func theFirstStartMakesAKeyAndCertificateThatLaterStartsKeep() throws {
        let temporary = TemporaryDirectory()
        let path = temporary.path + "/state/p2pfs"
        let state = NodeStateDirectory(path: path)
        let first = try state.loadCredentials()
        let key = try #require(temporary.read("state/p2pfs/node-key.pem"))
        let certificate = try #require(temporary.read("state/p2pfs/node-cert.pem"))
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(certificate.hasPrefix("-----BEGIN CERTIFICATE-----"))
        // Owner only: the key is the node's identity.
        #expect(Self.mode(state.privateKeyFile) == 0o600)
        #expect(Self.mode(state.certificateFile) == 0o600)
        // The id is the start of the SHA-256 of the public key.
        let digest = Array(SHA256.hash(data: try P256.Signing.PrivateKey(pemRepresentation: key).publicKey.derRepresentation))
        #expect(first.nodeID == NodeID(publicKeyDigest: digest))
        // The id in hex beside them, for people and scripts.
        #expect(temporary.read("state/p2pfs/node-id") == "\(first.nodeID)\n")
        // A restart (a new value over the same path) finds the same node.
        #expect(try NodeStateDirectory(path: path).loadCredentials().nodeID == first.nodeID)
        #expect(try NodeStateDirectory(path: path).loadCredentials().certificatePEM == certificate)
        #expect(temporary.read("state/p2pfs/node-key.pem") == key)
    }

    @Test func deletingBothFilesMakesANewNode() throws {
        let temporary = TemporaryDirectory()
        let state = NodeStateDirectory(path: temporary.path)
        let first = try state.loadCredentials()
        unlink(state.privateKeyFile)
        unlink(state.certificateFile)
        #expect(try state.loadCredentials().nodeID != first.nodeID)
    }

    @Test(arguments: ["not a key\n", ""])
    func contentsThatAreNotAKeyAreRefusedAndKept(_ contents: String) throws {
        let temporary = TemporaryDirectory()
        let state = NodeStateDirectory(path: temporary.path)
        _ = try state.loadCredentials()
        temporary.write(contents, to: "node-key.pem")
        let error = #expect(throws: DaemonConfigurationError.self) { try state.loadCredentials() }
        #expect(error?.description.hasPrefix("state directory '\(temporary.path)': \(state.privateKeyFile) and \(state.certificateFile) do not hold this node's key and certificate") == true)
        #expect(error?.description.hasSuffix("remove both to start as a new node") == true)
        // Not overwritten: the operator decides.
        #expect(temporary.read("node-key.pem") == contents)
    }

    @Test func aCertificateOfAnotherKeyIsRefused() throws {
        let temporary = TemporaryDirectory()
        let other = TemporaryDirectory()
        let state = NodeStateDirectory(path: temporary.path)
        _ = try state.loadCredentials()
        _ = try NodeStateDirectory(path: other.path).loadCredentials()
        temporary.write(try #require(other.read("node-cert.pem")), to: "node-cert.pem")
        let error = #expect(throws: DaemonConfigurationError.self) { try state.loadCredentials() }
        #expect(error?.description.contains("the certificate is not for the private key") == true)
    }

    @Test func oneFileWithoutTheOtherIsRefused() throws {
        let temporary = TemporaryDirectory()
        let state = NodeStateDirectory(path: temporary.path)
        _ = try state.loadCredentials()
        unlink(state.certificateFile)
        #expect(
            throws: DaemonConfigurationError.stateDirectory(
                path: temporary.path, reason: "\(state.certificateFile) is missing; remove the other file too to start as a new node"
            )
        ) { try state.loadCredentials() }
    }

    @Test func aStatePathThatIsAFileIsRefused() throws {
        let temporary = TemporaryDirectory()
        temporary.write("x", to: "plain")
        let path = temporary.path + "/plain"
        #expect(throws: DaemonConfigurationError.stateDirectory(path: path, reason: "not a directory")) {
            try NodeStateDirectory(path: path).loadCredentials()
        }
        // Below a file: the system's reason, naming the path.
        let below = path + "/state"
        #expect(throws: DaemonConfigurationError.stateDirectory(path: below, reason: "Not a directory")) {
            try NodeStateDirectory(path: below).loadCredentials()
        }
    }

    @Test func aNodeIDFileOfAnEarlierVersionIsReplacedByTheKeysID() throws {
        let temporary = TemporaryDirectory()
        temporary.write("0123456789abcdef00000000000000ff\n", to: "node-id")
        let credentials = try NodeStateDirectory(path: temporary.path).loadCredentials()
        #expect(temporary.read("node-id") == "\(credentials.nodeID)\n")
    }

    @Test func twoDirectoriesAreTwoNodes() throws {
        let one = TemporaryDirectory()
        let other = TemporaryDirectory()
        #expect(try NodeStateDirectory(path: one.path).loadCredentials().nodeID != NodeStateDirectory(path: other.path).loadCredentials().nodeID)
    }
}
