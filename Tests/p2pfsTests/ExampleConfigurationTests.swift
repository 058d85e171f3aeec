import P2PFSDaemon
import Testing

@testable import p2pfs

#if canImport(Glibc)
import Glibc
#endif

/// Packaging/p2pfs.toml, installed as /etc/p2pfs/p2pfs.toml, shows every key
/// with a value the daemon accepts.
@Suite struct ExampleConfigurationTests {
    static let examplePath: String = {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Packaging/p2pfs.toml"
    }()

    /// The example with every `# key = value` line uncommented.
    static func uncommented() throws -> String {
        let file = try ConfigurationFile.load(path: Self.examplePath)
        #expect(file.entries.isEmpty, "every key of the example is commented out")
        let stream = fopen(Self.examplePath, "r")!
        defer { fclose(stream) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), stream) != nil {
            let line = String(cString: buffer)
            if line.hasPrefix("# "), let first = line.dropFirst(2).first, first.isLowercase, line.contains(" = ") {
                text += line.dropFirst(2)
            }
        }
        return text
    }

    @Test func everyKeyIsShownWithAnAcceptedValue() throws {
        let text = try Self.uncommented()
        let file = try ConfigurationFile(path: Self.examplePath, text: text)
        #expect(Set(file.entries.map(\.key.name)) == Set(ConfigurationKey.all.map(\.name)))
        // The key file does not exist here: the rest must be accepted as shown.
        let settings = try DaemonSettings.resolve(commandLine: ["--network-key-file", "/dev/null"], file: file)
        let configuration = try settings.command.makeConfiguration()
        #expect(configuration.crawlInterval == .seconds(3))
        #expect(configuration.nfsVersions.description == NFSVersions.default.description)
        #expect(configuration.cacheBytes == 256 << 20)
    }
}
