/// One mapping in the portmapper's table.
public struct PortmapEntry: Sendable, Hashable {
    public var program: UInt32
    public var version: UInt32
    /// The network identifier: "tcp", "udp", "tcp6", "udp6" for inet transports.
    public var netid: String
    /// The universal address the service listens on.
    public var address: String
    /// Who registered it: "superuser", a uid, "unknown", or a name.
    public var owner: String

    public init(program: UInt32, version: UInt32, netid: String, address: String, owner: String) {
        self.program = program
        self.version = version
        self.netid = netid
        self.address = address
        self.owner = owner
    }

    /// The mapping's port, when `netid` is an inet transport and `address` parses.
    public var port: UInt16? {
        guard PortmapProtocol(netid: self.netid) != nil else { return nil }
        return UniversalAddress(self.address)?.port
    }
}

/// The table of (program, version, netid) → (universal address, owner)
/// behind the portmapper, with the rules of RFC 1833 and rpcbind:
///
/// - SET refuses a mapping whose (program, version, netid) already exists,
///   even to the same address; netid and address must be present, and an
///   inet netid needs a parsable universal address.
/// - UNSET removes the (program, version, netid) mappings, or those of every
///   netid when netid is empty. Only their owner or "superuser" may remove
///   them; if any matching mapping belongs to someone else nothing is removed.
/// - PMAP version 2 sees only the IPv4 "tcp" and "udp" mappings; its SET
///   records address 0.0.0.0 and its UNSET removes both protocols.
/// - GETPORT and (version 3 and 4) GETADDR answer with another version of the
///   program on the same netid when the asked-for version is not registered,
///   as rpcbind does, so the client learns from the server itself which
///   versions it supports; version 4 GETVERSADDR wants the exact version.
/// - Mappings owned by `pinnedOwner` (the embedded portmapper's own daemon)
///   are pinned: nobody else removes them, and a SET for the same
///   (program, version, netid) is answered TRUE without replacing them.
///   The kernel's lock manager, started by the first NFS mount, unsets and
///   sets program 100021 for itself; pinning keeps p2pfs's lock manager the
///   one that NFS clients of this machine find, while the kernel's start-up
///   still succeeds.
///
/// A plain value: the portmapper keeps it behind a lock.
public struct PortmapRegistry: Sendable, Equatable {
    /// Mappings in registration order (DUMP lists them in this order).
    public private(set) var entries: [PortmapEntry] = []
    /// The owner whose mappings are pinned; nil pins nothing.
    public var pinnedOwner: String?

    public init() {}

    public init(entries: [PortmapEntry]) {
        for entry in entries {
            self.set(entry)
        }
    }

    // MARK: rpcbind (versions 3 and 4)

    /// RPCBPROC_SET. Returns false when refused.
    @discardableResult
    public mutating func set(_ entry: PortmapEntry) -> Bool {
        guard !entry.netid.isEmpty, !entry.address.isEmpty else { return false }
        if let transport = NetidInfo(netid: entry.netid) {
            guard let address = UniversalAddress(entry.address), address.isIPv6 == transport.isIPv6 else { return false }
        }
        if let existing = self.lookup(program: entry.program, version: entry.version, netid: entry.netid) {
            // Someone else's SET over a pinned mapping "succeeds" and changes nothing.
            return existing.owner == self.pinnedOwner && entry.owner != self.pinnedOwner
        }
        self.entries.append(entry)
        return true
    }

    /// RPCBPROC_UNSET: removes the mappings of (program, version, netid), or of
    /// every netid when `netid` is empty, if `caller` may. True when any were removed.
    @discardableResult
    public mutating func unset(program: UInt32, version: UInt32, netid: String, caller: String) -> Bool {
        let matches: (PortmapEntry) -> Bool = { entry in
            entry.program == program && entry.version == version && (netid.isEmpty || entry.netid == netid)
        }
        let matching = self.entries.filter(matches)
        guard !matching.isEmpty else { return false }
        let pinnedOwner = self.pinnedOwner
        let pinned: (PortmapEntry) -> Bool = { $0.owner == pinnedOwner && caller != pinnedOwner }
        let removable = matching.filter { !pinned($0) }
        guard caller == Portmap.superuser || removable.allSatisfy({ $0.owner == caller }) else { return false }
        self.entries.removeAll { matches($0) && !pinned($0) }
        return true
    }

    /// The mapping for exactly (program, version, netid).
    public func lookup(program: UInt32, version: UInt32, netid: String) -> PortmapEntry? {
        self.entries.first { $0.program == program && $0.version == version && $0.netid == netid }
    }

    /// The mapping for (program, version, netid), or else the most recently
    /// registered mapping of another version of the program on that netid.
    public func lookupAnyVersion(program: UInt32, version: UInt32, netid: String) -> PortmapEntry? {
        if let exact = self.lookup(program: program, version: version, netid: netid) {
            return exact
        }
        return self.entries.last { $0.program == program && $0.netid == netid }
    }

    /// Every mapping of exactly (program, version), in registration order.
    public func entries(program: UInt32, version: UInt32) -> [PortmapEntry] {
        self.entries.filter { $0.program == program && $0.version == version }
    }

    // MARK: PMAP (version 2)

    /// PMAPPROC_SET: maps (program, version, protocol) to `port` on every IPv4 address.
    @discardableResult
    public mutating func setPort(program: UInt32, version: UInt32, protocolNumber: UInt32, port: UInt32, caller: String) -> Bool {
        guard let transport = PortmapProtocol(rawValue: protocolNumber), let port = UInt16(exactly: port) else { return false }
        return self.set(
            PortmapEntry(
                program: program, version: version, netid: transport.netid,
                address: UniversalAddress(host: "0.0.0.0", port: port)!.description, owner: caller
            )
        )
    }

    /// PMAPPROC_UNSET: removes the IPv4 TCP and UDP mappings of (program, version).
    @discardableResult
    public mutating func unsetPorts(program: UInt32, version: UInt32, caller: String) -> Bool {
        let tcp = self.unset(program: program, version: version, netid: PortmapProtocol.tcp.netid, caller: caller)
        let udp = self.unset(program: program, version: version, netid: PortmapProtocol.udp.netid, caller: caller)
        return tcp || udp
    }

    /// PMAPPROC_GETPORT: the port, or 0 when nothing is registered.
    public func port(program: UInt32, version: UInt32, protocolNumber: UInt32) -> UInt32 {
        guard let transport = PortmapProtocol(rawValue: protocolNumber),
            let entry = self.lookupAnyVersion(program: program, version: version, netid: transport.netid),
            let port = entry.port
        else { return 0 }
        return UInt32(port)
    }

    /// PMAPPROC_DUMP: the IPv4 TCP and UDP mappings as version 2 sees them.
    public var portMappings: [PortmapMapping] {
        self.entries.compactMap { entry in
            let transport: PortmapProtocol
            switch entry.netid {
            case PortmapProtocol.tcp.netid: transport = .tcp
            case PortmapProtocol.udp.netid: transport = .udp
            default: return nil
            }
            guard let port = entry.port else { return nil }
            return PortmapMapping(program: entry.program, version: entry.version, protocol: transport, port: port)
        }
    }
}
