import Logging
import NIOConcurrencyHelpers
import P2PFSDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Journal lines carry a syslog priority and no timestamp.
@Suite struct JournalLogHandlerTests {
    @Test func linesHaveAPriorityAndNoTimestamp() {
        let lines = NIOLockedValueBox<[String]>([])
        var handler = JournalLogHandler(label: "p2pfs") { line in lines.withLockedValue { $0.append(line) } }
        handler.logLevel = .info
        handler.metadata = ["node": "a"]
        let logger = Logger(label: "p2pfs") { _ in handler }
        logger.warning("peer left", metadata: ["peer": "10.0.0.1:7475"])
        logger.info("ready")
        logger.debug("not shown at info")
        logger.critical("down")
        #expect(
            lines.withLockedValue { $0 } == [
                "<4>warning p2pfs: peer left node=a peer=10.0.0.1:7475\n",
                "<6>info p2pfs: ready node=a\n",
                "<2>critical p2pfs: down node=a\n",
            ]
        )
    }

    @Test func onlyTheStreamSystemdNamedIsTheJournal() {
        var info = stat()
        #expect(fstat(2, &info) == 0)
        #expect(JournalLogHandler.standardErrorIsJournal(journalStream: "\(info.st_dev):\(info.st_ino)"))
        #expect(!JournalLogHandler.standardErrorIsJournal(journalStream: "\(info.st_dev):\(info.st_ino &+ 1)"))
        #expect(!JournalLogHandler.standardErrorIsJournal(journalStream: nil))
        #expect(!JournalLogHandler.standardErrorIsJournal(journalStream: "garbage"))
    }
}
