@testable import P2PFSDaemon
import RPCBind
import Testing

/// The periodic rpcbind check's rule: an entry taken over is put back at
/// once; a missing one only after it stayed missing, so a kernel lock
/// manager between its unset and its set (a mount starting) is left alone.
@Suite struct RegistrationGuardTests {
    static let nlm = PortmapRegistration(program: 100_021, version: 4, protocol: .tcp, port: 2049, host: "127.0.0.1")
    static let mount = PortmapRegistration(program: 100_005, version: 3, protocol: .tcp, port: 2049, host: "127.0.0.1")

    /// The decisions for `ports` found by successive checks of `wanted`.
    static func decisions(_ ports: [UInt16], for wanted: PortmapRegistration = nlm, guard start: RegistrationGuard = RegistrationGuard()) -> [Bool] {
        var decisions = start
        return ports.map { decisions.shouldRestore(wanted, foundPort: $0) }
    }

    @Test func anEntryTakenOverIsPutBackAtOnce() {
        #expect(Self.decisions([41_234, 2049]) == [true, false])
    }

    @Test func aMissingEntryIsPutBackOnlyAfterStayingMissing() {
        let missing = [UInt16](repeating: 0, count: RegistrationGuard.missingChecks + 1)
        // A gap the kernel may be filling, then missing check after check
        // (rpcbind lost it), then counted afresh.
        let expected = [Bool](repeating: false, count: RegistrationGuard.missingChecks - 1) + [true, false]
        #expect(Self.decisions(missing) == expected)
    }

    /// The remount loop that failed: missing after an umount, then the next
    /// mount's kernel entry (put back at once, after the kernel's own set),
    /// then missing again: the count starts over each time.
    @Test func theMissingCountStartsOverWhenTheEntryComesBack() {
        #expect(Self.decisions([0, 0, 37_631, 0, 0]) == [false, false, true, false, false])
        // Back as ours (our FSINFO repair) counts too.
        #expect(Self.decisions([0, 0, 2049, 0, 0]) == [false, false, false, false, false])
    }

    @Test func eachRegistrationIsCountedOnItsOwn() {
        var decisions = RegistrationGuard()
        var restored: [Bool] = []
        for _ in 1..<RegistrationGuard.missingChecks {
            restored.append(decisions.shouldRestore(Self.nlm, foundPort: 0))
        }
        restored.append(decisions.shouldRestore(Self.mount, foundPort: 0))
        #expect(!restored.contains(true))
    }
}
