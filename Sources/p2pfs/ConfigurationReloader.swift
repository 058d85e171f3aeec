import Dispatch
import Logging
import P2PFSDaemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Re-reads the configuration file on SIGHUP (`systemctl reload p2pfs`) and
/// applies what a running daemon can: exports and peers added or removed.
/// Every other change is logged as needing a restart and not applied; a file
/// that cannot be used leaves the running configuration as it is.
actor ConfigurationReloader {
    private let configPath: String?
    private let commandLine: [String]
    private let daemon: Daemon
    private let logger: Logger
    /// The arguments in effect: the start's, with reloaded exports and peers.
    private var running: [String]

    init(settings: DaemonSettings, configPath: String?, daemon: Daemon, logger: Logger) {
        self.configPath = configPath
        self.commandLine = settings.commandLine
        self.running = settings.arguments
        self.daemon = daemon
        self.logger = logger
    }

    func reload() async {
        guard let path = self.configPath else {
            self.logger.notice("reload: started without --config, nothing to re-read")
            return
        }
        let settings: DaemonSettings
        let configuration: DaemonConfiguration
        do {
            // A small file read once per SIGHUP, on this actor, never on an event loop.
            settings = try DaemonSettings.resolve(commandLine: self.commandLine, configPath: path)
            configuration = try settings.configuration()
        } catch {
            self.logger.error("reload: keeping the running configuration: \(DaemonSettings.message(for: error))")
            return
        }
        let change = ConfigurationChange(running: self.running, reloaded: settings.arguments)
        guard !change.differences.isEmpty else {
            self.logger.info("reload: \(path): no change")
            return
        }
        for difference in change.needingRestart {
            self.logger.warning(
                "reload: \(difference.key.name) changed: needs restart, keeping the running value",
                metadata: ["running": "\(difference.running)", "file": "\(difference.reloaded)"]
            )
        }
        let result: DaemonReload
        do {
            result = try await self.daemon.reload(exports: configuration.exports, peers: configuration.peers)
        } catch {
            self.logger.error("reload: keeping the running configuration: \(error)")
            return
        }
        for export in result.exportsAdded { self.logger.info("reload: export added", metadata: ["export": "\(export.name)=\(export.path)"]) }
        for export in result.exportsRemoved { self.logger.info("reload: export removed", metadata: ["export": "\(export.name)=\(export.path)"]) }
        for peer in result.peersAdded { self.logger.info("reload: peer added", metadata: ["peer": "\(peer)"]) }
        for peer in result.peersRemoved { self.logger.info("reload: peer removed", metadata: ["peer": "\(peer)"]) }
        var applied = settings.arguments
        if result.exportsNeedRestart {
            self.logger.warning("reload: export changed: needs restart (this node started with no export, so it has no peer listener)")
            // Keep the running exports, so the next reload says so again.
            let runningExports = ConfigurationChange.values(in: self.running)["export"] ?? []
            applied = ConfigurationChange.values(in: applied).keys.contains("export")
                ? Self.replacing("export", with: runningExports, in: applied) : applied
        }
        self.running = ConfigurationChange.applying(applied, to: self.running)
    }

    private static func replacing(_ name: String, with values: [String], in arguments: [String]) -> [String] {
        var kept: [String] = []
        var index = 0
        while index < arguments.count {
            if arguments[index] == "--" + name, index + 1 < arguments.count {
                index += 2
            } else if arguments[index].hasPrefix("--" + name + "=") {
                index += 1
            } else {
                kept.append(arguments[index])
                index += 1
            }
        }
        return kept + values.flatMap { ["--" + name, $0] }
    }
}

/// SIGHUP, as a stream: installed before the daemon starts, so a reload
/// sent early is never the default action (exit).
enum ReloadSignal {
    static func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "p2pfs.reload"))
        source.setEventHandler { continuation.yield() }
        source.resume()
        Self.source = source
        return stream
    }

    /// Kept for the life of the process, like the shutdown signals' sources.
    nonisolated(unsafe) private static var source: DispatchSourceSignal?
}
