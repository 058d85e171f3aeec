import Testing

/// Replays the fuzz target `peer`'s seed corpus (`Fuzz/Corpus/peer/`) and the
/// reproducers of the bugs its fuzzer found (`Fuzz/Regressions/peer/`)
/// through the harness the fuzzer runs (`FuzzHarness/`, linked from
/// `Fuzz/Sources/FuzzHarness/`). `make fuzz` runs the fuzzer itself.
@Suite struct PeerFuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "peer").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "peer"))
    func replay(_ input: String) throws {
        try PeerFuzz.run(try FuzzReplay.bytes(input))
    }
}
