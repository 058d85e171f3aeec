import Testing

/// Replays the fuzz target `control`'s seed corpus (`Fuzz/Corpus/control/`) and the
/// reproducers of the bugs its fuzzer found (`Fuzz/Regressions/control/`)
/// through the harness the fuzzer runs (`FuzzHarness/`, linked from
/// `Fuzz/Sources/FuzzHarness/`). `make fuzz` runs the fuzzer itself.
@Suite struct ControlFuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "control").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "control"))
    func replay(_ input: String) throws {
        try ControlFuzz.run(try FuzzReplay.bytes(input))
    }
}
