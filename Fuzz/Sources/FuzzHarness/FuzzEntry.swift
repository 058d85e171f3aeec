import CLibFuzzer
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs one harness on one fuzzer input: a broken property becomes a crash,
/// which libFuzzer records as a reproducer.
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int, _ harness: (ByteBuffer) throws(FuzzPropertyViolation) -> Void) -> CInt {
    let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: size))
    do {
        try harness(input)
    } catch {
        let message = "p2pfs fuzz property violated: \(error)\n"
        _ = message.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        abort()
    }
    return 0
}

/// The harness `runLibFuzzer` hands to libFuzzer's driver, whose callback is
/// a C function and cannot capture it. Set once, before the driver starts.
nonisolated(unsafe) private var driverHarness: ((ByteBuffer) throws(FuzzPropertyViolation) -> Void)?

/// Runs libFuzzer's driver (its flags come from the command line) on
/// `harness`, and exits with its status. SwiftPM links executables with an
/// entry point of its own, so libFuzzer's `main` is not used: each target's
/// `main.swift` calls this instead.
public func runLibFuzzer(_ harness: @escaping (ByteBuffer) throws(FuzzPropertyViolation) -> Void) -> Never {
    driverHarness = harness
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzzOneInput($0, size, driverHarness!) } ?? 0 })
}
