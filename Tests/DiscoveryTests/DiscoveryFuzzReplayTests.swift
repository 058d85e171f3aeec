import Testing

/// Replays the fuzz target `mdns`'s seed corpus (`Fuzz/Corpus/mdns/`) and
/// the reproducers of the bugs its fuzzer found (`Fuzz/Regressions/mdns/`)
/// through the harness the fuzzer runs (`FuzzHarness/`, linked from
/// `Fuzz/Sources/FuzzHarness/`). `make fuzz` runs the fuzzer itself.
@Suite struct DiscoveryFuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "mdns").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "mdns"))
    func replay(_ input: String) throws {
        try MDNSFuzz.run(try FuzzReplay.bytes(input))
    }
}
