import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import RPCBind

#if canImport(Glibc)
import Glibc
#endif

/// Makes the NFS listener's programs findable through port 111 as the
/// portmap mode says (see `PortmapPlan`), and withdraws them on shutdown.
struct PortmapPublication: Sendable {
    private enum Kind: Sendable {
        case system(SystemRPCBindRegistration, [PortmapRegistration], guardian: Task<Void, Never>)
        case embedded(EmbeddedPortmapper)
    }

    private let kind: Kind
    private let logger: Logger

    /// How often the system rpcbind is checked for registrations taken over.
    static let guardInterval: Duration = .milliseconds(500)

    static func publish(
        mode: PortmapMode,
        dispatcher: RPCDispatcher,
        endpoints: [(host: String, port: Int)],
        group: any EventLoopGroup,
        threadPool: NIOThreadPool,
        logger: Logger
    ) async throws -> PortmapPublication? {
        let registrations = endpoints.flatMap { endpoint in
            dispatcher.registrations.map {
                PortmapRegistration(program: $0.program, version: $0.version, protocol: .tcp, port: UInt16(endpoint.port), host: endpoint.host)
            }
        }
        let port = endpoints.first?.port ?? 2049
        let probe = mode == .off
            ? SystemRPCBindProbe.Result(portmapperAnswers: false, portAvailability: .free)
            : await SystemRPCBindProbe().probe(group: group, logger: logger)
        let plan: PortmapPlan
        do {
            plan = try PortmapPlan.decide(mode: mode, probe: probe, nfsPort: port, mountPort: port)
        } catch {
            throw DaemonConfigurationError.portmap(error.description)
        }
        if let warning = plan.warning {
            logger.warning("\(warning)")
        }
        switch plan.action {
        case .nothing:
            return nil
        case .registerWithSystem:
            let registration = SystemRPCBindRegistration(threadPool: threadPool)
            do {
                try await registration.register(registrations)
            } catch {
                throw DaemonConfigurationError.portmap("registering with the system rpcbind failed: \(error)")
            }
            logger.info("registered with the system rpcbind", metadata: ["services": "\(registrations.count)"])
            let guardian = Task {
                await Self.keepRegistered(registrations, with: registration, group: group, logger: logger)
            }
            return PortmapPublication(kind: .system(registration, registrations, guardian: guardian), logger: logger)
        case .startEmbedded:
            let portmapper: EmbeddedPortmapper
            do {
                portmapper = try await EmbeddedPortmapper.start(
                    configuration: .init(
                        hosts: endpoints.map(\.host), unixSocketPath: Self.unixSocketPath(),
                        warmStartFile: Self.unixSocketPath() == nil ? nil : "/run/p2pfs-portmapper.warm"
                    ),
                    registrations: registrations, group: group, logger: logger
                )
            } catch {
                throw DaemonConfigurationError.portmap("cannot start the embedded portmapper: \(error)")
            }
            logger.info("serving an embedded portmapper on port 111", metadata: ["services": "\(registrations.count)"])
            return PortmapPublication(kind: .embedded(portmapper), logger: logger)
        }
    }

    /// Re-registers whatever another service took over, until cancelled.
    ///
    /// Covers takeovers at any time (another NFS server starting, rpcbind
    /// restarted with `-w`); the takeover a mount causes is repaired before
    /// the mount returns, by `restoreReplacedRegistrations`.
    private static func keepRegistered(
        _ registrations: [PortmapRegistration],
        with registration: SystemRPCBindRegistration,
        group: any EventLoopGroup,
        logger: Logger
    ) async {
        var lookup: PortmapLookup?
        var decisions = RegistrationGuard()
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.guardInterval)
            if Task.isCancelled { break }
            do {
                if lookup?.isActive != true {
                    lookup?.close()
                    lookup = try await PortmapLookup.connect(group: group, logger: logger)
                }
                try await Self.restore(registrations, with: registration, lookup: lookup!, noticedBy: "periodic check", logger: logger) {
                    decisions.shouldRestore($0, foundPort: $1)
                }
            } catch {
                logger.debug("checking rpcbind registrations failed: \(error)")
                lookup?.close()
                lookup = nil
            }
        }
        lookup?.close()
    }

    /// Registers again every mapping rpcbind no longer points at us, or
    /// those of them `shouldRestore` picks.
    private static func restore(
        _ registrations: [PortmapRegistration],
        with registration: SystemRPCBindRegistration,
        lookup: PortmapLookup,
        noticedBy: String,
        logger: Logger,
        shouldRestore: (PortmapRegistration, UInt16) -> Bool = { wanted, port in port != wanted.port }
    ) async throws {
        for wanted in registrations where !Task.isCancelled {
            let port = try await lookup.port(program: wanted.program, version: wanted.version, protocol: wanted.protocol)
            // Asked for every entry, ours too: a count of checks in a row
            // must start over when ours is back.
            guard shouldRestore(wanted, port) else { continue }
            logger.info(
                "rpcbind entry was replaced; registering again",
                metadata: [
                    "program": "\(wanted.program)", "version": "\(wanted.version)", "found port": "\(port)", "noticed by": "\(noticedBy)",
                ]
            )
            try await registration.register([wanted])
        }
    }

    /// How long an FSINFO waits for `restoreReplacedRegistrations` at most.
    static let fsinfoRepairBound: Duration = .seconds(3)

    /// Checks every registration once and puts back the ones taken over,
    /// returning within `fsinfoRepairBound` whatever rpcbind does.
    ///
    /// The NFS program awaits this before answering FSINFO: a Linux NFSv3
    /// mount starts the kernel's lock manager, which replaces program
    /// 100021's rpcbind entry, after MNT and before its first FSINFO. With
    /// our entry back before that reply, a lock taken the moment `mount`
    /// returns reaches p2pfs; taken even a few milliseconds earlier, the
    /// kernel's NLM client binds to the kernel's own lockd (which serves no
    /// files) and that mount's locks hang for good.
    func restoreReplacedRegistrations(group: any EventLoopGroup) async {
        guard case .system(let registration, let registrations, _) = self.kind else { return }
        let logger = self.logger
        // Not a task group: that would wait for a libtirpc call stuck on
        // its thread past the bound. The check goes on alone instead.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(continuation)
            let finish: @Sendable () -> Void = { waiting.withLockedValue { $0.take() }?.resume() }
            let timer = Task {
                try? await Task.sleep(for: Self.fsinfoRepairBound)
                guard !Task.isCancelled else { return }
                logger.warning("rpcbind registrations not checked within \(Self.fsinfoRepairBound); answering FSINFO anyway")
                finish()
            }
            Task {
                do {
                    let lookup = try await PortmapLookup.connect(group: group, logger: logger)
                    defer { lookup.close() }
                    try await Self.restore(registrations, with: registration, lookup: lookup, noticedBy: "FSINFO", logger: logger)
                } catch {
                    logger.warning("checking rpcbind registrations before answering FSINFO failed: \(error)")
                }
                timer.cancel()
                finish()
            }
        }
    }

    /// rpcbind's UNIX socket, when this process may create it (root).
    private static func unixSocketPath() -> String? {
        access("/run", W_OK) == 0 ? Portmap.unixSocketPath : nil
    }

    func withdraw() async {
        switch self.kind {
        case .system(let registration, let registrations, let guardian):
            guardian.cancel()
            await guardian.value
            do {
                try await registration.unregister(registrations)
            } catch {
                self.logger.warning("unregistering from the system rpcbind failed: \(error)")
            }
        case .embedded(let portmapper):
            await portmapper.close()
        }
    }
}
