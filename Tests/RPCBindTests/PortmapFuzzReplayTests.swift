import Testing

/// Replays the fuzz target `portmap`'s seed corpus (`Fuzz/Corpus/portmap/`) and the
/// reproducers of the bugs its fuzzer found (`Fuzz/Regressions/portmap/`)
/// through the harness the fuzzer runs (`FuzzHarness/`, linked from
/// `Fuzz/Sources/FuzzHarness/`). `make fuzz` runs the fuzzer itself.
@Suite struct PortmapFuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "portmap").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "portmap"))
    func replay(_ input: String) throws {
        try PortmapFuzz.run(try FuzzReplay.bytes(input))
    }
}
