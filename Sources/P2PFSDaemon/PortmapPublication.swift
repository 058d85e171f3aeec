import Logging
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
    /// On a machine that mounts its own p2pfs, the first mount starts the
    /// kernel's lock manager, which replaces every program 100021 (NLM)
    /// entry in rpcbind with its own port; the kernel would then send its
    /// lock requests to itself and fail them. Putting our entry back within
    /// half a second, before the first lock, keeps locking working.
    private static func keepRegistered(
        _ registrations: [PortmapRegistration],
        with registration: SystemRPCBindRegistration,
        group: any EventLoopGroup,
        logger: Logger
    ) async {
        var lookup: PortmapLookup?
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.guardInterval)
            if Task.isCancelled { break }
            do {
                if lookup?.isActive != true {
                    lookup?.close()
                    lookup = try await PortmapLookup.connect(group: group, logger: logger)
                }
                for wanted in registrations where !Task.isCancelled {
                    let port = try await lookup!.port(program: wanted.program, version: wanted.version, protocol: wanted.protocol)
                    guard port != wanted.port else { continue }
                    logger.info(
                        "rpcbind entry was replaced; registering again",
                        metadata: ["program": "\(wanted.program)", "version": "\(wanted.version)", "found port": "\(port)"]
                    )
                    try await registration.register([wanted])
                }
            } catch {
                logger.debug("checking rpcbind registrations failed: \(error)")
                lookup?.close()
                lookup = nil
            }
        }
        lookup?.close()
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
