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
