import P2PFSDaemon
import Testing

/// A configuration file becomes the arguments its keys' flags would be, and
/// every mistake in it names the file, the line and the key.
@Suite struct ConfigurationFileTests {
    static let path = "/etc/p2pfs/p2pfs.toml"

    static func parse(_ text: String) throws(ConfigurationFileError) -> ConfigurationFile {
        try ConfigurationFile(path: Self.path, text: text)
    }

    static func error(_ text: String) -> ConfigurationFileError? {
        do {
            let file = try Self.parse(text)
            Issue.record("accepted: \(file.entries)")
            return nil
        } catch {
            return error
        }
    }

    @Test func everyKindBecomesItsFlagsArguments() throws {
        let file = try Self.parse(
            """
            # a node that offers and sees
            export = ["movies=/srv/movies", "music=/srv/music"]
            peer = ["192.168.1.10", "[fd00::1]:7475"]
            nfs = "127.0.0.1:2049"
            crawl-interval = 1.5
            peer-timeout = 30
            cache-size = 64
            "log-level" = "debug"
            """
        )
        #expect(
            file.arguments(commandLine: []) == [
                "--export", "movies=/srv/movies", "--export", "music=/srv/music",
                "--peer", "192.168.1.10", "--peer", "[fd00::1]:7475",
                "--nfs", "127.0.0.1:2049",
                "--crawl-interval", "1.5",
                "--peer-timeout", "30",
                "--cache-size", "64",
                "--log-level", "debug",
            ]
        )
        #expect(file.entry("nfs")?.line == 4)
        #expect(file.entry("log-level")?.line == 8)
    }

    @Test func anEmptyFileGivesNoArguments() throws {
        #expect(try Self.parse("# nothing set\n\n").arguments(commandLine: ["--name", "a"]) == ["--name", "a"])
    }

    /// Flags > file: a flag given on the command line drops the file's value,
    /// a repeatable one replaces the whole list rather than adding to it.
    @Test func flagsOnTheCommandLineOverrideTheFile() throws {
        let file = try Self.parse(
            """
            peer = ["10.0.0.1", "10.0.0.2"]
            name = "from-file"
            cache-size = 64
            """
        )
        #expect(
            file.arguments(commandLine: ["--peer", "10.0.0.9", "--name=from-flag"])
                == ["--cache-size", "64", "--peer", "10.0.0.9", "--name=from-flag"]
        )
        // A value that merely looks like a flag, after `--`, does not count.
        #expect(file.arguments(commandLine: ["--", "--cache-size"]) == file.entries.flatMap(\.arguments) + ["--", "--cache-size"])
    }

    @Test func anUnknownKeyIsNamedWithItsLineAndTheClosestKey() {
        let error = Self.error(
            """
            name = "a"

            peers = ["10.0.0.1"]
            """
        )
        #expect(error == .unknownKey(path: Self.path, line: 3, key: "peers", suggestion: "peer"))
        #expect(error?.description == "/etc/p2pfs/p2pfs.toml:3: unknown key 'peers' (did you mean 'peer'?)")
        #expect(Self.error("color = \"blue\"") == .unknownKey(path: Self.path, line: 1, key: "color", suggestion: nil))
    }

    /// The file is flat: a table is an unknown key, found on its header line.
    @Test func aTableIsAnUnknownKey() {
        #expect(
            Self.error("name = \"a\"\n[exports]\nmovies = \"/srv\"\n")
                == .unknownKey(path: Self.path, line: 2, key: "exports", suggestion: "export")
        )
    }

    @Test func aWrongTypeNamesWhatWasExpected() {
        let error = Self.error("name = \"a\"\ncache-size = \"64\"\n")
        #expect(error == .wrongType(path: Self.path, line: 2, key: "cache-size", expected: "an integer", found: "a string"))
        #expect(error?.description == "/etc/p2pfs/p2pfs.toml:2: key 'cache-size' must be an integer, not a string")
        #expect(
            Self.error("peer = \"10.0.0.1\"")
                == .wrongType(path: Self.path, line: 1, key: "peer", expected: "an array of strings", found: "a string")
        )
        #expect(
            Self.error("\n\nexport = [\n  \"a=/a\",\n  7,\n]\n")
                == .wrongType(path: Self.path, line: 3, key: "export", expected: "an array of strings", found: "an array holding an integer")
        )
        #expect(
            Self.error("cache-size = 1.5")
                == .wrongType(path: Self.path, line: 1, key: "cache-size", expected: "an integer", found: "a floating-point number")
        )
        #expect(
            Self.error("crawl-interval = true")
                == .wrongType(path: Self.path, line: 1, key: "crawl-interval", expected: "a number", found: "a boolean")
        )
    }

    @Test func aSyntaxErrorNamesItsLineAndColumn() {
        guard case .syntax(let path, let line, _, let message)? = Self.error("name = \"a\"\nlisten = \n") else {
            Issue.record("not a syntax error")
            return
        }
        #expect(path == Self.path)
        #expect(line == 2)
        #expect(!message.isEmpty)
    }

    @Test func aMissingFileIsNamed() {
        #expect(throws: ConfigurationFileError.unreadable(path: "/nonexistent/p2pfs.toml", reason: "No such file or directory")) {
            try ConfigurationFile.load(path: "/nonexistent/p2pfs.toml")
        }
    }

    @Test func aFileIsReadFromDisk() throws {
        let directory = TemporaryDirectory()
        directory.write("peer = [\"10.0.0.1\"]\n", to: "p2pfs.toml")
        let file = try ConfigurationFile.load(path: directory.path + "/p2pfs.toml")
        #expect(file.path == directory.path + "/p2pfs.toml")
        #expect(file.arguments(commandLine: []) == ["--peer", "10.0.0.1"])
    }
}
