import P2PFSDaemon
import Testing

/// A reload compares the running arguments with the reloaded ones key by
/// key: exports and peers apply, anything else waits for a restart.
@Suite struct ConfigurationChangeTests {
    @Test func valuesAreGroupedByKey() {
        #expect(
            ConfigurationChange.values(in: ["--peer", "a", "--name=n", "--peer", "b", "--config", "f", "--name", "m"])
                == ["peer": ["a", "b"], "name": ["m"]]
        )
    }

    @Test func nothingChangedIsNoDifference() {
        let arguments = ["--export", "a=/a", "--listen", "0.0.0.0:7475"]
        #expect(ConfigurationChange(running: arguments, reloaded: arguments).differences.isEmpty)
    }

    @Test func exportsAndPeersApplyOtherKeysNeedARestart() {
        let change = ConfigurationChange(
            running: ["--export", "a=/a", "--listen", "0.0.0.0:7475", "--peer", "p1"],
            reloaded: ["--export", "a=/a", "--export", "b=/b", "--listen", "0.0.0.0:7476", "--cache-size", "64"]
        )
        #expect(change.applicable.map(\.key.name) == ["export", "peer"])
        #expect(change.applicable.first?.reloaded == ["a=/a", "b=/b"])
        #expect(change.applicable.last?.reloaded == [])
        #expect(change.needingRestart.map(\.key.name) == ["listen", "cache-size"])
        #expect(change.needingRestart.first?.running == ["0.0.0.0:7475"])
    }

    /// After a reload the daemon runs with the new exports and peers but the
    /// old value of every restart-only key, so the next reload says so again.
    @Test func applyingKeepsRestartOnlyKeys() {
        let running = ["--export", "a=/a", "--listen", "0.0.0.0:7475"]
        let reloaded = ["--export", "b=/b", "--listen", "0.0.0.0:7476", "--peer", "p"]
        let applied = ConfigurationChange.applying(reloaded, to: running)
        #expect(ConfigurationChange.values(in: applied) == ["export": ["b=/b"], "listen": ["0.0.0.0:7475"], "peer": ["p"]])
        #expect(ConfigurationChange(running: applied, reloaded: reloaded).differences.map(\.key.name) == ["listen"])
    }
}
