import Testing

/// Replays the fuzz target `record`'s seed corpus (`Fuzz/Corpus/record/`)
/// and the reproducers of the bugs its fuzzer found
/// (`Fuzz/Regressions/record/`) through the harness the fuzzer runs
/// (`FuzzHarness/`, linked from `Fuzz/Sources/FuzzHarness/`). `make fuzz`
/// runs the fuzzer itself.
@Suite struct RecordFuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "record").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "record"))
    func replay(_ input: String) throws {
        try RecordStreamFuzz.run(try FuzzReplay.bytes(input))
    }
}
