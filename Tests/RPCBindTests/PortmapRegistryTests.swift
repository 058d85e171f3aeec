import NIOCore
import RPCBind
import Testing

@Suite("Universal addresses")
struct UniversalAddressTests {
    @Test func ipv4() throws {
        let address = try #require(UniversalAddress("127.0.0.1.8.1"))
        #expect(address.host == "127.0.0.1")
        #expect(address.port == 2049)
        #expect(address.description == "127.0.0.1.8.1")
        #expect(UniversalAddress(host: "10.1.2.3", port: 111)?.description == "10.1.2.3.0.111")
        #expect(UniversalAddress(host: "0.0.0.0", port: 65535)?.description == "0.0.0.0.255.255")
        #expect(UniversalAddress("0.0.0.0.0.0")?.isWildcard == true)
    }

    @Test func ipv6() throws {
        let address = try #require(UniversalAddress("::1.0.111"))
        #expect(address.host == "::1")
        #expect(address.port == 111)
        #expect(address.isIPv6)
        #expect(UniversalAddress("0:0:0:0:0:0:0:1.8.1")?.description == "::1.8.1")
        #expect(UniversalAddress("::.3.232")?.isWildcard == true)
        #expect(UniversalAddress("::ffff:127.0.0.1.0.111")?.host == "::ffff:127.0.0.1")
    }

    @Test(arguments: ["", "127.0.0.1", "127.0.0.1.8", "127.0.0.1.256.1", "127.0.0.1.1.-1", "127.0.0.1.1.1a", "1.2.3.8.1", "host.example.8.1", "127.0.0.1..1", "::1", "1.2.3.4.5.6.7"])
    func rejects(_ text: String) {
        #expect(UniversalAddress(text) == nil)
    }

    @Test func fromSocketAddresses() throws {
        #expect(UniversalAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 2049))?.description == "127.0.0.1.8.1")
        #expect(UniversalAddress(try SocketAddress(ipAddress: "::1", port: 20048))?.description == "::1.78.80")
    }

    @Test func loopbackAddresses() throws {
        #expect(try SocketAddress(ipAddress: "127.0.0.1", port: 1).isLoopback)
        #expect(try SocketAddress(ipAddress: "127.200.3.4", port: 1).isLoopback)
        #expect(try SocketAddress(ipAddress: "::1", port: 1).isLoopback)
        #expect(try SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 1).isLoopback)
        #expect(!(try SocketAddress(ipAddress: "10.0.0.1", port: 1).isLoopback))
        #expect(!(try SocketAddress(ipAddress: "128.0.0.1", port: 1).isLoopback))
        #expect(!(try SocketAddress(ipAddress: "::2", port: 1).isLoopback))
        #expect(!(try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 1).isLoopback))
    }
}

@Suite("Portmapper registry rules (RFC 1833)")
struct PortmapRegistryTests {
    static func entry(
        _ program: UInt32 = 100_003, _ version: UInt32 = 3, _ netid: String = "tcp", _ address: String = "0.0.0.0.8.1",
        netid netidLabel: String? = nil, address addressLabel: String? = nil, owner: String = "p2pfs"
    ) -> PortmapEntry {
        PortmapEntry(program: program, version: version, netid: netidLabel ?? netid, address: addressLabel ?? address, owner: owner)
    }

    @Test func setRefusesAnExistingProgramVersionNetid() {
        var registry = PortmapRegistry()
        let result1 = registry.set(Self.entry())
        #expect(result1)
        let result2 = registry.set(Self.entry())
        #expect(!result2, "same mapping again")
        let result3 = registry.set(Self.entry(address: "127.0.0.1.8.2"))
        #expect(!result3, "other address, same key")
        let result4 = registry.set(Self.entry(100_003, 3, "udp"))
        #expect(result4)
        let result5 = registry.set(Self.entry(100_003, 4, "tcp"))
        #expect(result5)
        let result6 = registry.set(Self.entry(100_003, 3, "tcp6", "::.8.1"))
        #expect(result6)
        #expect(registry.entries.count == 4)
    }

    @Test func setNeedsNetidAndAValidAddress() {
        var registry = PortmapRegistry()
        let result7 = registry.set(Self.entry(netid: ""))
        #expect(!result7)
        let result8 = registry.set(Self.entry(address: ""))
        #expect(!result8)
        let result9 = registry.set(Self.entry(address: "not-an-address"))
        #expect(!result9)
        let result10 = registry.set(Self.entry(netid: "tcp", address: "::1.8.1"))
        #expect(!result10, "IPv6 address on an IPv4 netid")
        let result11 = registry.set(Self.entry(netid: "udp6", address: "127.0.0.1.8.1"))
        #expect(!result11, "IPv4 address on an IPv6 netid")
        let result12 = registry.set(Self.entry(netid: "local", address: "/run/some.sock"))
        #expect(result12, "non-inet netids keep their own address form")
        #expect(registry.entries.count == 1)
    }

    @Test func unsetNeedsTheOwnerOrSuperuser() {
        var registry = PortmapRegistry(entries: [Self.entry(owner: "alice")])
        let result13 = registry.unset(program: 100_003, version: 3, netid: "tcp", caller: "bob")
        #expect(!result13)
        #expect(registry.entries.count == 1)
        let result14 = registry.unset(program: 100_003, version: 3, netid: "tcp", caller: "alice")
        #expect(result14)
        #expect(registry.entries.isEmpty)

        registry.set(Self.entry(owner: "alice"))
        let result15 = registry.unset(program: 100_003, version: 3, netid: "tcp", caller: "superuser")
        #expect(result15)
        let result16 = registry.unset(program: 100_003, version: 3, netid: "tcp", caller: "superuser")
        #expect(!result16, "nothing left to remove")
    }

    @Test func unsetWithoutNetidRemovesEveryNetidOrNothing() {
        var registry = PortmapRegistry(entries: [
            Self.entry(100_005, 3, "tcp", owner: "alice"),
            Self.entry(100_005, 3, "udp", owner: "alice"),
            Self.entry(100_005, 1, "udp", owner: "alice"),
        ])
        let result17 = registry.unset(program: 100_005, version: 3, netid: "", caller: "alice")
        #expect(result17)
        #expect(registry.entries == [Self.entry(100_005, 1, "udp", owner: "alice")])

        var mixed = PortmapRegistry(entries: [Self.entry(100_005, 3, "tcp", owner: "alice"), Self.entry(100_005, 3, "udp", owner: "bob")])
        let result18 = mixed.unset(program: 100_005, version: 3, netid: "", caller: "alice")
        #expect(!result18, "one of them is bob's")
        #expect(mixed.entries.count == 2)
    }

    @Test func lookupIsExactButGetportFallsBackToAnotherVersion() {
        let registry = PortmapRegistry(entries: [
            Self.entry(100_003, 3, "tcp", "0.0.0.0.8.1"),
            Self.entry(100_005, 1, "tcp", "0.0.0.0.78.80"),
            Self.entry(100_005, 3, "tcp", "0.0.0.0.78.81"),
        ])
        #expect(registry.lookup(program: 100_003, version: 4, netid: "tcp") == nil)
        #expect(registry.lookupAnyVersion(program: 100_003, version: 4, netid: "tcp")?.version == 3)
        #expect(registry.lookupAnyVersion(program: 100_005, version: 3, netid: "tcp")?.address == "0.0.0.0.78.81")
        #expect(registry.lookupAnyVersion(program: 100_005, version: 2, netid: "tcp")?.version == 3, "the latest registered")
        #expect(registry.lookupAnyVersion(program: 100_003, version: 3, netid: "udp") == nil)
        #expect(registry.port(program: 100_003, version: 3, protocolNumber: 6) == 2049)
        #expect(registry.port(program: 100_003, version: 4, protocolNumber: 6) == 2049)
        #expect(registry.port(program: 100_003, version: 3, protocolNumber: 17) == 0)
        #expect(registry.port(program: 100_003, version: 3, protocolNumber: 99) == 0)
        #expect(registry.port(program: 100_021, version: 4, protocolNumber: 6) == 0)
    }

    @Test func pmapSetRecordsTheWildcardAddress() {
        var registry = PortmapRegistry()
        let result19 = registry.setPort(program: 100_021, version: 4, protocolNumber: 17, port: 4045, caller: "unknown")
        #expect(result19)
        #expect(registry.entries == [PortmapEntry(program: 100_021, version: 4, netid: "udp", address: "0.0.0.0.15.205", owner: "unknown")])
        let result20 = registry.setPort(program: 100_021, version: 4, protocolNumber: 17, port: 4046, caller: "unknown")
        #expect(!result20)
        let result21 = registry.setPort(program: 100_021, version: 1, protocolNumber: 1, port: 4045, caller: "unknown")
        #expect(!result21, "not TCP or UDP")
        let result22 = registry.setPort(program: 100_021, version: 1, protocolNumber: 6, port: 70_000, caller: "unknown")
        #expect(!result22, "not a port")
    }

    @Test func pmapUnsetRemovesBothIPv4Protocols() {
        var registry = PortmapRegistry(entries: [
            Self.entry(100_021, 4, "tcp", owner: "unknown"),
            Self.entry(100_021, 4, "udp", owner: "unknown"),
            Self.entry(100_021, 4, "tcp6", "::.8.1", owner: "unknown"),
        ])
        let result23 = registry.unsetPorts(program: 100_021, version: 4, caller: "unknown")
        #expect(result23)
        #expect(registry.entries.map(\.netid) == ["tcp6"])
        let result24 = registry.unsetPorts(program: 100_021, version: 4, caller: "unknown")
        #expect(!result24)
    }

    @Test func pmapDumpSeesOnlyIPv4TCPAndUDP() {
        let registry = PortmapRegistry(entries: [
            Self.entry(100_000, 2, "tcp", "0.0.0.0.0.111", owner: "superuser"),
            Self.entry(100_000, 2, "udp", "0.0.0.0.0.111", owner: "superuser"),
            Self.entry(100_000, 4, "tcp6", "::.0.111", owner: "superuser"),
            Self.entry(100_000, 4, "local", "/run/rpcbind.sock", owner: "superuser"),
        ])
        #expect(
            registry.portMappings == [
                PortmapMapping(program: 100_000, version: 2, protocol: .tcp, port: 111),
                PortmapMapping(program: 100_000, version: 2, protocol: .udp, port: 111),
            ]
        )
    }

    @Test func registrationsBecomeEntries() {
        let tcp = PortmapRegistration(program: 100_003, version: 3, protocol: .tcp, port: 2049)
        #expect(tcp.entry(owner: "p2pfs") == PortmapEntry(program: 100_003, version: 3, netid: "tcp", address: "0.0.0.0.8.1", owner: "p2pfs"))
        let udp6 = PortmapRegistration(program: 100_005, version: 3, protocol: .udp, port: 20048, host: "::1")
        #expect(udp6.entry(owner: "p2pfs") == PortmapEntry(program: 100_005, version: 3, netid: "udp6", address: "::1.78.80", owner: "p2pfs"))
        #expect(PortmapRegistration(program: 1, version: 1, protocol: .tcp, port: 1, host: "localhost").entry(owner: "x") == nil)
    }
}

@Suite("Pinned registrations of the embedded portmapper")
struct PinnedRegistrationTests {
    func entry(_ program: UInt32, _ version: UInt32, _ netid: String, port: UInt16, owner: String) -> PortmapEntry {
        PortmapEntry(program: program, version: version, netid: netid, address: UniversalAddress(host: "127.0.0.1", port: port)!.description, owner: owner)
    }

    @Test func anotherOwnersSetOverAPinnedMappingSucceedsAndChangesNothing() {
        var registry = PortmapRegistry()
        registry.pinnedOwner = "p2pfs"
        let accepted1 = registry.set(self.entry(100_021, 4, "tcp", port: 2049, owner: "p2pfs"))
        #expect(accepted1)
        // The kernel's lock manager registering itself, as the first mount starts it.
        let accepted2 = registry.set(self.entry(100_021, 4, "tcp", port: 40000, owner: "superuser"))
        #expect(accepted2)
        let accepted3 = registry.set(self.entry(100_021, 3, "tcp", port: 40000, owner: "superuser"))
        #expect(accepted3)
        #expect(registry.lookup(program: 100_021, version: 4, netid: "tcp")?.port == 2049)
        #expect(registry.lookup(program: 100_021, version: 3, netid: "tcp")?.port == 40000)
    }

    @Test func unsetByOthersLeavesPinnedMappingsAndRemovesTheirOwn() {
        var registry = PortmapRegistry()
        registry.pinnedOwner = "p2pfs"
        registry.set(self.entry(100_021, 4, "tcp", port: 2049, owner: "p2pfs"))
        registry.set(self.entry(100_021, 4, "udp", port: 40000, owner: "superuser"))
        let removed1 = registry.unset(program: 100_021, version: 4, netid: "", caller: "superuser")
        #expect(removed1)
        #expect(registry.lookup(program: 100_021, version: 4, netid: "tcp")?.port == 2049)
        #expect(registry.lookup(program: 100_021, version: 4, netid: "udp") == nil)
        // The daemon itself can still withdraw its own.
        let removed2 = registry.unset(program: 100_021, version: 4, netid: "tcp", caller: "p2pfs")
        #expect(removed2)
        #expect(registry.lookup(program: 100_021, version: 4, netid: "tcp") == nil)
    }

    @Test func withoutAPinnedOwnerConflictsAreRefusedAsBefore() {
        var registry = PortmapRegistry()
        registry.set(self.entry(100_021, 4, "tcp", port: 2049, owner: "p2pfs"))
        let accepted4 = registry.set(self.entry(100_021, 4, "tcp", port: 40000, owner: "superuser"))
        #expect(!accepted4)
    }
}
