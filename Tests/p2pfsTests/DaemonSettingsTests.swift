import Namespace
import P2PFSDaemon
import Testing

@testable import p2pfs

/// The configuration file checked by the flags' own parsers: flags > file >
/// defaults, and a bad value reported at its line and key.
@Suite struct DaemonSettingsTests {
    static let path = "/etc/p2pfs/p2pfs.toml"

    static func settings(_ text: String, commandLine: [String] = []) throws -> DaemonSettings {
        try DaemonSettings.resolve(commandLine: commandLine, file: ConfigurationFile(path: Self.path, text: text))
    }

    static func error(_ text: String, commandLine: [String] = []) -> String? {
        do {
            _ = try Self.settings(text, commandLine: commandLine)
            Issue.record("accepted")
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Every flag of `p2pfs daemon` has a key, and every key is a flag: a
    /// flag added without its key fails here.
    @Test func everyFlagHasAKey() {
        var flags: Set<String> = []
        for line in DaemonCommand.helpMessage(columns: 500).split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            for word in trimmed.split(separator: " ").prefix(2) where word.hasPrefix("--") {
                flags.insert(String(word.dropFirst(2).prefix { $0 != "," && $0 != " " }))
            }
        }
        flags.subtract(["help", "version", "config"])
        #expect(flags == Set(ConfigurationKey.all.map(\.name)))
    }

    @Test func defaultsApplyWhereNeitherGivesAValue() throws {
        let configuration = try Self.settings("").configuration()
        #expect(configuration.crawlInterval == .seconds(3))
        #expect(configuration.cacheBytes == 256 << 20)
        #expect(configuration.nfs == DaemonConfiguration.defaultNFSAddress)
    }

    @Test func theFileOverridesDefaultsAndFlagsOverrideTheFile() throws {
        let text = """
            crawl-interval = 7
            cache-size = 64
            peer = ["10.0.0.1", "10.0.0.2:9000"]
            nfs = "127.0.0.1:12049"
            """
        let fromFile = try Self.settings(text).configuration()
        #expect(fromFile.crawlInterval == .seconds(7))
        #expect(fromFile.cacheBytes == 64 << 20)
        #expect(fromFile.peers.map(\.description) == ["10.0.0.1:7475", "10.0.0.2:9000"])
        #expect(fromFile.nfs?.description == "127.0.0.1:12049")

        let overridden = try Self.settings(text, commandLine: ["--cache-size", "32", "--peer", "10.0.0.3"]).configuration()
        #expect(overridden.cacheBytes == 32 << 20)
        #expect(overridden.peers.map(\.description) == ["10.0.0.3:7475"])
        #expect(overridden.crawlInterval == .seconds(7))
    }

    @Test func aBadValueNamesTheFileLineAndKey() {
        #expect(
            Self.error("name = \"a\"\nportmap = \"sometimes\"\n")
                == "/etc/p2pfs/p2pfs.toml:2: key 'portmap': must be one of: auto, off, register, embedded (got 'sometimes')"
        )
        #expect(
            Self.error("peer = [\"10.0.0.1\", \"10.0.0.2:x\"]")
                == "/etc/p2pfs/p2pfs.toml:1: key 'peer': '10.0.0.2:x' is not HOST:PORT (IPv6 as [ADDRESS]:PORT)"
        )
        #expect(
            Self.error("\ncrawl-interval = 0")
                == "/etc/p2pfs/p2pfs.toml:2: key 'crawl-interval': must be between 0 and 86400 seconds (got 0.0)"
        )
    }

    /// Export directories and the key file are opened when the file is read,
    /// so a missing one is reported at its line too.
    @Test func aMissingDirectoryOrKeyFileIsReportedAtItsLine() {
        #expect(
            Self.error("export = [\"movies=/nonexistent/movies\"]")
                == "/etc/p2pfs/p2pfs.toml:1: key 'export': cannot open export directory '/nonexistent/movies': No such file or directory"
        )
        #expect(
            Self.error("\n\nnetwork-key-file = \"/nonexistent/key\"")?.hasPrefix("/etc/p2pfs/p2pfs.toml:3: key 'network-key-file': ") == true
        )
    }

    /// `trust` takes whole node ids (the 12 digits `p2pfs peers` shows are
    /// not enough), in either case; a bad one is reported at its line.
    @Test func trustedNodesAreWholeNodeIDs() throws {
        #expect(
            Self.error("trust = [\"0123456789ab\"]")
                == "/etc/p2pfs/p2pfs.toml:1: key 'trust': '0123456789ab' is not a node id (32 hex digits, as in the node's state directory file node-id)"
        )
        let configuration = try Self.settings("trust = [\"9558F1A330B05999B32D6E12C608C99E\", \"0123456789abcdef0123456789abcdef\"]").configuration()
        #expect(
            configuration.trustedNodes
                == [NodeID(high: 0x9558_F1A3_30B0_5999, low: 0xB32D_6E12_C608_C99E), NodeID(high: 0x0123_4567_89AB_CDEF, low: 0x0123_4567_89AB_CDEF)]
        )
        #expect(try Self.settings("").configuration().trustedNodes == nil)
    }

    /// A bad value the command line overrides is not an error: the flag wins.
    @Test func aValueOverriddenByAFlagIsNotChecked() throws {
        let configuration = try Self.settings("portmap = \"sometimes\"", commandLine: ["--portmap", "off"]).configuration()
        #expect(configuration.portmap == .off)
    }

    @Test func theDaemonsArgumentsFollowTheSubcommand() {
        #expect(DaemonCommand.daemonArguments(["/usr/bin/p2pfs", "daemon", "--config", "f", "--peer", "a"]) == ["--config", "f", "--peer", "a"])
    }
}
