import ArgumentParser
import Namespace
import P2PFSDaemon

/// What a daemon runs with: its command line over its configuration file
/// (`--config`) over the defaults.
///
/// Each key of the file is checked on its own by the flag's own parser, so a
/// bad value is reported with the file, line and key rather than as a flag
/// the user never typed.
struct DaemonSettings {
    /// The daemon's own arguments, as typed (after `daemon`).
    var commandLine: [String]
    var file: ConfigurationFile?
    /// The command line with the file's values merged in, parsed.
    var command: DaemonCommand

    /// Reads the file (blocking: at start-up or off the event loops) and merges it.
    static func resolve(commandLine: [String], configPath: String?) throws -> DaemonSettings {
        let file = try configPath.map { path throws(ConfigurationFileError) in
            try ConfigurationFile.load(path: DaemonCommand.expandingTildeInPath(path))
        }
        return try Self.resolve(commandLine: commandLine, file: file)
    }

    static func resolve(commandLine: [String], file: ConfigurationFile?) throws -> DaemonSettings {
        guard let file else {
            return DaemonSettings(commandLine: commandLine, file: nil, command: try DaemonCommand.parse(commandLine))
        }
        for entry in file.entries(notGivenIn: commandLine) {
            try Self.check(entry, in: file)
        }
        let command = try DaemonCommand.parse(file.arguments(commandLine: commandLine))
        return DaemonSettings(commandLine: commandLine, file: file, command: command)
    }

    /// The arguments the daemon runs with: the file's under the command line's.
    var arguments: [String] { self.file?.arguments(commandLine: self.commandLine) ?? self.commandLine }

    /// A resolution error as the one line the user reads.
    static func message(for error: any Error) -> String {
        switch error {
        case let error as ConfigurationFileError: error.description
        case let error as FailureMessage: error.message
        default: DaemonCommand.message(for: error)
        }
    }

    /// The configuration, with the network key read.
    func configuration() throws -> DaemonConfiguration {
        var configuration = try self.command.makeConfiguration()
        configuration.networkKey = try DaemonCommand.loadNetworkKey(self.command.networkKeyFile)
        return configuration
    }

    /// Parses one key as its flag alone, and opens what it names (export
    /// directories, the key file), so the error points into the file.
    private static func check(_ entry: ConfigurationFile.Entry, in file: ConfigurationFile) throws(ConfigurationFileError) {
        let bad = { (reason: String) in
            ConfigurationFileError.badValue(path: file.path, line: entry.line, key: entry.key.name, reason: reason)
        }
        let command: DaemonCommand
        do {
            command = try DaemonCommand.parse(entry.arguments)
        } catch {
            throw bad(Self.withoutFlag(DaemonCommand.message(for: error), entry.key))
        }
        do {
            switch entry.key.name {
            case "export":
                _ = try ExportRoot.openAll(try command.makeConfiguration().exports)
            case "network-key-file":
                _ = try DaemonCommand.loadNetworkKey(command.networkKeyFile)
            default:
                break
            }
        } catch {
            throw bad(Self.withoutFlag("\(error)", entry.key))
        }
    }

    /// "--peer: 'x' is not HOST:PORT" reads "'x' is not HOST:PORT" under the key's name.
    private static func withoutFlag(_ message: String, _ key: ConfigurationKey) -> String {
        for prefix in ["\(key.flag): ", "\(key.flag) "] where message.hasPrefix(prefix) {
            return String(message.dropFirst(prefix.count))
        }
        return message
    }
}
