import Namespace
import P2PFSDaemon
import Testing

/// `NodeStateDirectory`: the node id is made once and kept across restarts
/// (peers and mounted kernels recognise the node by it); contents that are
/// not an id are refused with a message saying which file and what to do,
/// never silently replaced.
@Suite struct NodeStateDirectoryTests {
    @Test func theFirstStartMakesTheDirectoryAndAnIDThatLaterStartsKeep() throws {
        let temporary = TemporaryDirectory()
        let path = temporary.path + "/state/p2pfs"
        let first = try NodeStateDirectory(path: path).loadNodeID()
        // On disk as 32 hex digits and a newline, as a person would read it.
        let written = try #require(temporary.read("state/p2pfs/node-id"))
        #expect(written.count == 33 && written.hasSuffix("\n"))
        #expect(written.dropLast().allSatisfy { $0.isHexDigit })
        #expect(NodeID(hex: written.dropLast()) == first)
        // A restart (a new value over the same path) finds the same id.
        #expect(try NodeStateDirectory(path: path).loadNodeID() == first)
        #expect(try NodeStateDirectory(path: path).loadNodeID() == first)
        #expect(temporary.read("state/p2pfs/node-id") == written)
    }

    @Test func anIDWrittenBeforeIsTakenAsItIs() throws {
        let temporary = TemporaryDirectory()
        temporary.write("0123456789abcdef00000000000000ff\n", to: "node-id")
        let id = try NodeStateDirectory(path: temporary.path).loadNodeID()
        #expect(id == NodeID(high: 0x0123_4567_89AB_CDEF, low: 0xFF))
        // Surrounding blanks are tolerated (an editor's trailing newline).
        temporary.write("  0123456789abcdef00000000000000ff \n", to: "node-id")
        #expect(try NodeStateDirectory(path: temporary.path).loadNodeID() == id)
    }

    @Test(arguments: ["not an id\n", "", "0123456789abcdef\n", "0123456789abcdef00000000000000zz\n", "0123456789abcdef00000000000000ff00\n"])
    func contentsThatAreNotAnIDAreRefusedAndKept(_ contents: String) throws {
        let temporary = TemporaryDirectory()
        temporary.write(contents, to: "node-id")
        let error = #expect(throws: DaemonConfigurationError.self) {
            try NodeStateDirectory(path: temporary.path).loadNodeID()
        }
        let file = temporary.path + "/node-id"
        #expect(
            error == .stateDirectory(path: temporary.path, reason: "\(file) does not hold a node id; remove it to start as a new node")
        )
        #expect(
            error?.description
                == "state directory '\(temporary.path)': \(file) does not hold a node id; remove it to start as a new node"
        )
        // Not overwritten: the operator decides.
        #expect(temporary.read("node-id") == contents)
    }

    @Test func aStatePathThatIsAFileIsRefused() throws {
        let temporary = TemporaryDirectory()
        temporary.write("x", to: "plain")
        let path = temporary.path + "/plain"
        #expect(throws: DaemonConfigurationError.stateDirectory(path: path, reason: "not a directory")) {
            try NodeStateDirectory(path: path).loadNodeID()
        }
        // Below a file: the system's reason, naming the path.
        let below = path + "/state"
        #expect(throws: DaemonConfigurationError.stateDirectory(path: below, reason: "Not a directory")) {
            try NodeStateDirectory(path: below).loadNodeID()
        }
    }

    @Test func twoDirectoriesAreTwoNodes() throws {
        let one = TemporaryDirectory()
        let other = TemporaryDirectory()
        #expect(try NodeStateDirectory(path: one.path).loadNodeID() != NodeStateDirectory(path: other.path).loadNodeID())
    }
}
