import ArgumentParser
import Dispatch
import Logging
import Namespace
import P2PFSDaemon
import PeerProtocol
import RPCBind

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run a p2pfs node.",
        discussion: """
            Roles follow from the flags: --export offers files to the network (server role), --nfs presents \
            every file on the network through an NFSv3 server (client role). Give both for both; give neither \
            to present the network on \(DaemonConfiguration.defaultNFSAddress).

            Examples:
              p2pfs daemon --export movies=/srv/movies      (offer files)
              p2pfs daemon                                  (see everything)
              p2pfs daemon --peer 10.1.2.3                  (and a node behind a router)

            Nodes on one link find each other by multicast DNS (--discovery on, \
            the default); --peer names a node discovery cannot reach.

            Every flag can instead be a key of a TOML file given with --config (the key is the flag's
            name: `peer = ["192.168.1.10"]`); flags on the command line override the file. SIGHUP re-reads
            the file: exports and peers added or removed apply at once, other changes at the next start.

            A closed network: give every node the same key file (made once with
            `head -c 32 /dev/urandom | base64 > key`) with --network-key-file.
            """
    )

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("Read settings from this TOML file (keys are the flags' names; flags override it).", valueName: "FILE")
    )
    var configFile: String?

    @Option(
        name: .customLong("export"),
        help: ArgumentHelp("Offer the directory PATH as /NAME in the namespace. Repeatable.", valueName: "NAME=PATH")
    )
    var exports: [String] = []

    @Option(
        help: ArgumentHelp(
            "Where to listen for peers when offering files (default 0.0.0.0:\(DaemonConfiguration.defaultPeerPort)).",
            valueName: "HOST:PORT"
        )
    )
    var listen: String?

    @Option(
        name: .customLong("peer"),
        help: ArgumentHelp(
            "A node to start discovering the network from (port defaults to \(DaemonConfiguration.defaultPeerPort)). Repeatable.",
            valueName: "HOST[:PORT]"
        )
    )
    var peers: [String] = []

    @Option(
        help: ArgumentHelp(
            "Serve the merged namespace over NFSv3/MOUNT on this address (default \(DaemonConfiguration.defaultNFSAddress) when not offering files).",
            valueName: "HOST:PORT"
        )
    )
    var nfs: String?

    @Option(
        name: .customLong("nfs-versions"),
        help: ArgumentHelp(
            "NFS versions served on the --nfs address: 3, 4.1, or 3,4.1 (3 includes MOUNT and NLM; a plain `mount -t nfs` picks 4.1 when it is served).",
            valueName: "LIST"
        )
    )
    var nfsVersions: String = NFSVersions.default.description

    @Option(help: ArgumentHelp("This node's name, shown to others and in NAME@node conflict names (default: host name).", valueName: "NAME"))
    var name: String?

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp("Where the node keeps its persistent id (default: \(NodeStateDirectory.defaultPath())).", valueName: "DIR")
    )
    var stateDirectory: String?

    @Option(
        help: ArgumentHelp(
            "How NFS becomes findable on port 111: auto (register with rpcbind, else serve port 111, else warn), off, register, embedded.",
            valueName: "MODE"
        )
    )
    var portmap: String = PortmapMode.auto.rawValue

    @Option(name: .customLong("crawl-interval"), help: ArgumentHelp("Seconds between crawl rounds (every known node contacted, changed catalogs fetched).", valueName: "SECONDS"))
    var crawlInterval: Double = 3

    @Option(
        name: .customLong("peer-timeout"),
        help: ArgumentHelp("Seconds a silent node keeps its files in the namespace.", valueName: "SECONDS")
    )
    var peerTimeout: Double = 10

    @Option(
        name: .customLong("rescan-interval"),
        help: ArgumentHelp(
            "Seconds between full rescans of the exported directories, run only while inotify cannot see every change: exports on NFS, CIFS or FUSE, directories past the inotify watch limit. Watched exports are rescanned directory by directory as changes are reported.",
            valueName: "SECONDS"
        )
    )
    var rescanInterval: Double = 60

    @Option(name: .customLong("cache-size"), help: ArgumentHelp("Memory for cached blocks of remote files, in MiB.", valueName: "MIB"))
    var cacheSize: Int = 256

    @Option(
        name: .customLong("network-key-file"),
        help: ArgumentHelp(
            "Join only nodes holding the same key (at least 16 bytes; read once at start). Without it the network is open.",
            valueName: "PATH"
        )
    )
    var networkKeyFile: String?

    @Option(
        name: .customLong("trust"),
        help: ArgumentHelp(
            "Talk only to this node (repeatable): its id, 32 hex digits (`node-id` in its state directory). Without it any node is admitted (with the network key, if one is set).",
            valueName: "NODE_ID"
        )
    )
    var trust: [String] = []

    @Option(
        help: ArgumentHelp(
            "Find other nodes on the local network with no address given (mDNS/DNS-SD, _p2pfs._tcp): on or off. --peer is still needed across routers.",
            valueName: "on|off"
        )
    )
    var discovery: String = "on"

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics; `on` or a bare PORT mean \(DaemonConfiguration.defaultMetricsAddress.host) (default port \(DaemonConfiguration.defaultMetricsAddress.port)). Off unless given.",
            valueName: "HOST:PORT"
        )
    )
    var metrics: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    func validate() throws {
        guard PortmapMode(rawValue: self.portmap) != nil else {
            throw ValidationError("--portmap must be one of: auto, off, register, embedded (got '\(self.portmap)')")
        }
        guard Self.switchValue(self.discovery) != nil else {
            throw ValidationError("--discovery must be on or off (got '\(self.discovery)')")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level must be one of: trace, debug, info, notice, warning, error, critical (got '\(self.logLevel)')")
        }
        for (flag, value) in [("--crawl-interval", self.crawlInterval), ("--peer-timeout", self.peerTimeout), ("--rescan-interval", self.rescanInterval)] {
            guard value > 0, value <= 86400 else {
                throw ValidationError("\(flag) must be between 0 and 86400 seconds (got \(value))")
            }
        }
        guard self.cacheSize >= 1, self.cacheSize <= 1 << 20 else {
            throw ValidationError("--cache-size must be between 1 and 1048576 MiB (got \(self.cacheSize))")
        }
        _ = try self.makeConfiguration()
    }

    func makeConfiguration() throws -> DaemonConfiguration {
        var exports: [LocalExport] = []
        for argument in self.exports {
            do {
                exports.append(try LocalExport(argument: Self.expandingTilde(argument)))
            } catch {
                throw ValidationError("--export: \(error)")
            }
        }
        let listen = try self.listen.map { try Self.address($0, flag: "--listen", defaultPort: DaemonConfiguration.defaultPeerPort) }
        let peers = try self.peers.map { try Self.address($0, flag: "--peer", defaultPort: DaemonConfiguration.defaultPeerPort) }
        var nfs = try self.nfs.map { try Self.address($0, flag: "--nfs", defaultPort: 2049) }
        if nfs == nil && exports.isEmpty {
            nfs = DaemonConfiguration.defaultNFSAddress
        }
        let metrics = try self.metrics.map { text in
            guard let address = DaemonConfiguration.metricsAddress(text) else {
                throw ValidationError("--metrics: '\(text)' is not HOST:PORT, a port or 'on' (IPv6 as [ADDRESS]:PORT)")
            }
            return address
        }
        var trusted: Set<NodeID>?
        for text in self.trust {
            guard let id = NodeID(hex: text.lowercased()) else {
                throw ValidationError("--trust: '\(text)' is not a node id (32 hex digits, as in the node's state directory file node-id)")
            }
            trusted = (trusted ?? []).union([id])
        }
        var configuration = DaemonConfiguration(
            exports: exports,
            listen: listen,
            peers: peers,
            nfs: nfs,
            nfsVersions: try Self.versions(self.nfsVersions),
            name: self.name,
            stateDirectory: self.stateDirectory ?? NodeStateDirectory.defaultPath(),
            portmap: PortmapMode(rawValue: self.portmap)!,
            crawlInterval: .milliseconds(Int(self.crawlInterval * 1000)),
            peerTimeout: .milliseconds(Int(self.peerTimeout * 1000)),
            rescanInterval: .milliseconds(Int(self.rescanInterval * 1000)),
            cacheBytes: self.cacheSize << 20,
            discovery: Self.switchValue(self.discovery) ?? true,
            metrics: metrics
        )
        configuration.trustedNodes = trusted
        return configuration
    }

    func run() async throws {
        let settings: DaemonSettings
        let configuration: DaemonConfiguration
        do {
            settings = try DaemonSettings.resolve(commandLine: Self.daemonArguments(CommandLine.arguments), configPath: self.configFile)
            // Read here, once, so that a bad key file is a one-line error.
            configuration = try settings.configuration()
        } catch {
            throw FailureMessage(message: DaemonSettings.message(for: error))
        }
        try await settings.command.serve(configuration: configuration, settings: settings)
    }

    /// The arguments after the `daemon` subcommand.
    static func daemonArguments(_ arguments: [String]) -> [String] {
        Array(arguments.dropFirst().drop { $0 != "daemon" }.dropFirst())
    }

    /// Runs the node until SIGINT or SIGTERM, with the settings merged from
    /// the command line and the configuration file.
    func serve(configuration: DaemonConfiguration, settings: DaemonSettings) async throws {
        // Before the event loops and the thread pool start allocating.
        HeapMemory.configureForDaemon()
        let level = Logger.Level(rawValue: self.logLevel)!
        let journal = JournalLogHandler.standardErrorIsJournal(journalStream: getenv("JOURNAL_STREAM").map { String(cString: $0) })
        LoggingSystem.bootstrap { label in
            if journal {
                var handler = JournalLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let notifier = ServiceNotifier.fromEnvironment()
        let logger = Logger(label: "p2pfs")
        if let path = self.networkKeyFile, NetworkKey.isReadableByOthers(path: path) {
            logger.warning("network key file '\(path)' is readable by other users: chmod 600 it")
        }

        // Before the daemon's parts make their counters: they register with
        // whatever factory is bootstrapped when they are made.
        let exposition = configuration.metrics.map { _ in PrometheusBackend.bootstrap() }
        let reloads = ReloadSignal.stream()
        let daemon: Daemon
        do {
            daemon = try Daemon(configuration: configuration, logger: logger, metricsExposition: exposition)
        } catch {
            throw FailureMessage(message: "\(error)")
        }
        do {
            try await daemon.start()
        } catch {
            await daemon.stop()
            throw FailureMessage(message: "\(error)")
        }
        do {
            try await daemon.checkListenersAnswer()
        } catch {
            await daemon.stop()
            throw FailureMessage(message: "\(error)")
        }
        let work = Task { await daemon.run() }
        Self.notify(notifier, ["READY=1", "STATUS=\(Self.status(daemon))"], logger: logger)
        logger.info("ready", metadata: ["systemd": "\(notifier != nil)"])
        let watchdog = Task {
            guard let notifier, let interval = ServiceNotifier.watchdogIntervalFromEnvironment() else { return }
            while !Task.isCancelled {
                Self.notify(notifier, ["WATCHDOG=1"], logger: logger)
                try? await Task.sleep(for: interval)
            }
        }
        let reloader = ConfigurationReloader(settings: settings, configPath: self.configFile, daemon: daemon, logger: logger)
        let reloading = Task {
            for await _ in reloads {
                logger.info("SIGHUP: re-reading the configuration")
                Self.notify(notifier, ["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"], logger: logger)
                await reloader.reload()
                Self.notify(notifier, ["READY=1", "STATUS=\(Self.status(daemon))"], logger: logger)
            }
        }
        let signal = await ShutdownSignal.wait()
        Self.notify(notifier, ["STOPPING=1"], logger: logger)
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        watchdog.cancel()
        reloading.cancel()
        work.cancel()
        await work.value
        await daemon.stop()
    }

    /// "on" or "off" as a Bool; nil for anything else.
    static func switchValue(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "on": true
        case "off": false
        default: nil
        }
    }

    /// Tells systemd (when it started the daemon); a failure is logged, not fatal.
    static func notify(_ notifier: ServiceNotifier?, _ assignments: [String], logger: Logger) {
        do {
            try notifier?.notify(assignments)
        } catch {
            logger.warning("\(error)")
        }
    }

    /// The one line `systemctl status` shows.
    static func status(_ daemon: Daemon) -> String {
        var parts: [String] = []
        if let nfs = daemon.nfsAddress { parts.append("NFS on \(nfs.ipAddress ?? "?"):\(nfs.port ?? 0)") }
        if let peer = daemon.peerAddress { parts.append("peers on \(peer.ipAddress ?? "?"):\(peer.port ?? 0)") }
        return parts.isEmpty ? "running" : "serving " + parts.joined(separator: ", ")
    }

    /// CLOCK_MONOTONIC in microseconds, which RELOADING=1 carries (sd_notify(3)).
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }

    /// The `--nfs-versions` list, or a one-line error naming the bad item.
    static func versions(_ text: String) throws -> NFSVersions {
        do {
            return try NFSVersions(parsing: text)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The key of `--network-key-file`, or a one-line error naming the problem.
    static func loadNetworkKey(_ path: String?) throws -> NetworkKey? {
        guard let path else { return nil }
        do {
            return try NetworkKey(contentsOfFile: Self.expandingTildeInPath(path))
        } catch {
            throw FailureMessage(message: "--network-key-file: \(error)")
        }
    }

    static func expandingTildeInPath(_ path: String) -> String {
        guard path.hasPrefix("~/"), let home = getenv("HOME") else { return path }
        return String(cString: home) + path.dropFirst()
    }

    static func address(_ text: String, flag: String, defaultPort: Int) throws -> PeerAddress {
        guard let address = PeerAddress(text, defaultPort: defaultPort) else {
            throw ValidationError("\(flag): '\(text)' is not HOST:PORT (IPv6 as [ADDRESS]:PORT)")
        }
        return address
    }

    static func expandingTilde(_ argument: String) -> String {
        guard let equals = argument.firstIndex(of: "="), argument[argument.index(after: equals)...].hasPrefix("~/"),
            let home = getenv("HOME")
        else { return argument }
        let path = argument[argument.index(equals, offsetBy: 2)...]
        return argument[...equals] + String(cString: home) + path
    }
}

/// Waits for SIGINT or SIGTERM.
enum ShutdownSignal {
    static func wait() async -> String {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "p2pfs.signals")
            let resumed = ResumeOnce(continuation)
            var sources: [DispatchSourceSignal] = []
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { resumed.resume(name) }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }

    private final class ResumeOnce: @unchecked Sendable {
        private var continuation: CheckedContinuation<String, Never>?
        init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }
        func resume(_ value: String) {
            // Only ever called on the serial signal queue.
            self.continuation?.resume(returning: value)
            self.continuation = nil
        }
    }

    private enum SignalSources {
        nonisolated(unsafe) static var retained: [DispatchSourceSignal] = []
        static func keep(_ sources: [DispatchSourceSignal]) { retained = sources }
    }
}

/// A one-line error for the user; ArgumentParser prints it and exits with 1.
struct FailureMessage: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}
