/// How the daemon makes NFS and MOUNT findable through port 111.
public enum PortmapMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Register with a system rpcbind when one answers, else serve port 111
    /// itself when it is free, else carry on with a warning.
    case auto
    /// Do nothing: clients must be told the ports.
    case off
    /// Register with the system rpcbind, or fail.
    case register
    /// Serve the portmapper on port 111, or fail.
    case embedded

    public var description: String { self.rawValue }
}

/// Why the chosen mode cannot be carried out.
public enum PortmapPlanError: Error, Equatable, CustomStringConvertible {
    /// Mode `register`, but no portmapper answers on port 111.
    case noSystemPortmapper(host: String, port: Int)
    /// Mode `embedded`, but port 111 cannot be bound.
    case portUnavailable(host: String, port: Int, PortAvailability)

    public var description: String {
        switch self {
        case .noSystemPortmapper(let host, let port):
            "portmap mode 'register': no portmapper answers on \(host):\(port); start rpcbind (systemctl start rpcbind), or use portmap mode 'embedded' or 'auto'"
        case .portUnavailable(let host, let port, let availability):
            switch availability {
            case .inUse:
                "portmap mode 'embedded': \(host):\(port) is already in use but no portmapper answers there; free the port, or use portmap mode 'auto' or 'off'"
            case .permissionDenied:
                "portmap mode 'embedded': binding \(host):\(port) needs root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on the binary), or use portmap mode 'off'"
            default:
                "portmap mode 'embedded': cannot bind \(host):\(port): \(availability)"
            }
        }
    }
}

/// The decision of what to do about the portmapper, made from the mode and
/// what `SystemRPCBindProbe` found. A value with no side effects, so every
/// branch is testable; the daemon carries it out.
public struct PortmapPlan: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Register the services with the system rpcbind (`SystemRPCBindRegistration`).
        case registerWithSystem
        /// Start `EmbeddedPortmapper` on the probed port.
        case startEmbedded
        /// Leave port 111 alone.
        case nothing
    }

    public var mode: PortmapMode
    public var action: Action
    /// For the log at warning level: set when mode `auto` found no way to
    /// make the services findable, and says how to mount anyway.
    public var warning: String?

    public init(mode: PortmapMode, action: Action, warning: String? = nil) {
        self.mode = mode
        self.action = action
        self.warning = warning
    }

    /// Decides. `nfsPort` and `mountPort` go into the mount hint of the warning.
    public static func decide(
        mode: PortmapMode,
        probe: SystemRPCBindProbe.Result,
        nfsPort: Int,
        mountPort: Int,
        host: String = "127.0.0.1",
        port: Int = Portmap.port
    ) throws(PortmapPlanError) -> PortmapPlan {
        switch mode {
        case .off:
            return PortmapPlan(mode: mode, action: .nothing)
        case .register:
            guard probe.portmapperAnswers else { throw .noSystemPortmapper(host: host, port: port) }
            return PortmapPlan(mode: mode, action: .registerWithSystem)
        case .embedded:
            guard probe.portAvailability == .free else {
                throw .portUnavailable(host: host, port: port, probe.portAvailability)
            }
            return PortmapPlan(mode: mode, action: .startEmbedded)
        case .auto:
            if probe.portmapperAnswers {
                return PortmapPlan(mode: mode, action: .registerWithSystem)
            }
            if probe.portAvailability == .free {
                return PortmapPlan(mode: mode, action: .startEmbedded)
            }
            let why = "no portmapper answers on \(host):\(port) and p2pfs cannot serve it (port \(probe.portAvailability))"
            return PortmapPlan(
                mode: mode, action: .nothing,
                warning: "\(why). " + Self.manualMountHint(nfsPort: nfsPort, mountPort: mountPort)
            )
        }
    }

    /// How to mount without a portmapper: every port given explicitly, and
    /// no locking (lockd needs rpcbind).
    public static func manualMountHint(nfsPort: Int, mountPort: Int, server: String = "localhost", mountPoint: String = "/mnt/p2p") -> String {
        "A plain `mount -t nfs \(server):/ \(mountPoint)` will not find p2pfs; mount with explicit ports instead: "
            + "mount -t nfs -o vers=3,proto=tcp,port=\(nfsPort),mountport=\(mountPort),mountproto=tcp,nolock \(server):/ \(mountPoint)"
    }
}
