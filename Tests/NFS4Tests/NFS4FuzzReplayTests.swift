import Testing

/// Replays the fuzz target `nfs4`'s seed corpus (`Fuzz/Corpus/nfs4/`) and
/// the reproducers of the bugs its fuzzer found (`Fuzz/Regressions/nfs4/`)
/// through the harness the fuzzer runs (`FuzzHarness/`, linked from
/// `Fuzz/Sources/FuzzHarness/`). `make fuzz` runs the fuzzer itself.
@Suite struct NFS4FuzzReplayTests {
    @Test func hasInputs() {
        #expect(!FuzzReplay.inputs(of: "nfs4").isEmpty)
    }

    @Test(arguments: FuzzReplay.inputs(of: "nfs4"))
    func replay(_ input: String) throws {
        try NFS4Fuzz.run(try FuzzReplay.bytes(input))
    }
}
