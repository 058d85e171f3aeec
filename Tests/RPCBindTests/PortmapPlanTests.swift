import RPCBind
import Testing

@Suite("Portmap plan")
struct PortmapPlanTests {
    typealias Probe = SystemRPCBindProbe.Result

    static let answering = Probe(portmapperAnswers: true, portAvailability: .inUse)
    static let nothingThereFree = Probe(portmapperAnswers: false, portAvailability: .free)
    static let silentButTaken = Probe(portmapperAnswers: false, portAvailability: .inUse)
    static let notRoot = Probe(portmapperAnswers: false, portAvailability: .permissionDenied)

    static func decide(_ mode: PortmapMode, _ probe: Probe) throws(PortmapPlanError) -> PortmapPlan {
        try PortmapPlan.decide(mode: mode, probe: probe, nfsPort: 2049, mountPort: 20048)
    }

    @Test func autoRegistersWhenASystemPortmapperAnswers() throws {
        #expect(try Self.decide(.auto, Self.answering) == PortmapPlan(mode: .auto, action: .registerWithSystem))
    }

    @Test func autoServesPort111WhenItIsFree() throws {
        #expect(try Self.decide(.auto, Self.nothingThereFree) == PortmapPlan(mode: .auto, action: .startEmbedded))
    }

    @Test(arguments: [silentButTaken, notRoot, Probe(portmapperAnswers: false, portAvailability: .unknown("EADDRNOTAVAIL"))])
    func autoOtherwiseDoesNothingAndTellsHowToMount(_ probe: Probe) throws {
        let plan = try Self.decide(.auto, probe)
        #expect(plan.action == .nothing)
        let warning = try #require(plan.warning)
        #expect(warning.contains("port=2049"))
        #expect(warning.contains("mountport=20048"))
        #expect(warning.contains("mount -t nfs -o vers=3,proto=tcp,port=2049,mountport=20048,mountproto=tcp,nolock localhost:/ /mnt/p2p"))
    }

    @Test func registerNeedsASystemPortmapper() throws {
        #expect(try Self.decide(.register, Self.answering) == PortmapPlan(mode: .register, action: .registerWithSystem))
        for probe in [Self.nothingThereFree, Self.silentButTaken, Self.notRoot] {
            #expect(throws: PortmapPlanError.noSystemPortmapper(host: "127.0.0.1", port: 111)) { try Self.decide(.register, probe) }
        }
        #expect(PortmapPlanError.noSystemPortmapper(host: "127.0.0.1", port: 111).description.contains("rpcbind"))
    }

    @Test func embeddedNeedsThePort() throws {
        #expect(try Self.decide(.embedded, Self.nothingThereFree) == PortmapPlan(mode: .embedded, action: .startEmbedded))
        #expect(throws: PortmapPlanError.portUnavailable(host: "127.0.0.1", port: 111, .inUse)) { try Self.decide(.embedded, Self.answering) }
        #expect(throws: PortmapPlanError.portUnavailable(host: "127.0.0.1", port: 111, .inUse)) { try Self.decide(.embedded, Self.silentButTaken) }
        #expect(throws: PortmapPlanError.portUnavailable(host: "127.0.0.1", port: 111, .permissionDenied)) { try Self.decide(.embedded, Self.notRoot) }
        #expect(PortmapPlanError.portUnavailable(host: "127.0.0.1", port: 111, .permissionDenied).description.contains("CAP_NET_BIND_SERVICE"))
    }

    @Test(arguments: [answering, nothingThereFree, silentButTaken, notRoot])
    func offDoesNothingWhateverTheProbeSaw(_ probe: Probe) throws {
        #expect(try Self.decide(.off, probe) == PortmapPlan(mode: .off, action: .nothing))
    }

    @Test func modesParseFromTheirNames() {
        #expect(PortmapMode.allCases.map { PortmapMode(rawValue: $0.rawValue) } == PortmapMode.allCases)
        #expect(PortmapMode(rawValue: "embedded") == .embedded)
        #expect(PortmapMode(rawValue: "bogus") == nil)
    }
}
