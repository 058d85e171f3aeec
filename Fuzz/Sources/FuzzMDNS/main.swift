import FuzzHarness

// libFuzzer's runtime refers to this symbol even though its `main` is not used.
@_cdecl("LLVMFuzzerTestOneInput") public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOneInput(data, size, MDNSFuzz.run)
}

runLibFuzzer(MDNSFuzz.run)
