import Testing

/// Replays the fuzz target `nfs`'s seed corpus (`Fuzz/Corpus/nfs/`) and the
/// reproducers of the bugs its fuzzer found (`Fuzz/Regressions/nfs/`)
/// through the harness the fuzzer runs (`FuzzHarness/`, linked from
/// `Fuzz/Sources/FuzzHarness/`). `make fuzz` runs the fuzzer itself.
@Suite struct NFSFuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "nfs").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "nfs"))
    func replay(_ input: String) throws {
        try NFSFuzz.run(try FuzzReplay.bytes(input))
    }
}
