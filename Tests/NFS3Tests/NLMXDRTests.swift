import NFS3
import NIOCore
import Testing
import XDR

/// NLM v4 messages against bytes written out by hand from the XDR of the
/// Open Group's XNFS specification (chapter 10) / RFC 1813 appendix II.
@Suite("NLM XDR layouts")
struct NLMXDRTests {
    /// An `nlm4_lockargs` as the Linux client sends it for `flock -x`:
    /// cookie of 4 bytes, block, exclusive, caller "vm", a p2pfs handle,
    /// owner handle "7@vm", svid 7, whole file, not a reclaim, NSM state 3.
    static let lockArgsBytes = hex(
        """
        00 00 00 04  de ad be ef
        00 00 00 01
        00 00 00 01
        00 00 00 02  76 6d 00 00
        00 00 00 0c  50 32 46 01  01 02 03 04  05 06 07 08
        00 00 00 04  37 40 76 6d
        00 00 00 07
        00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00
        00 00 00 00
        00 00 00 03
        """
    )

    static let lock = NLM4Lock(
        callerName: "vm", fileHandle: hex("50 32 46 01 01 02 03 04 05 06 07 08"), ownerHandle: Array("7@vm".utf8),
        svid: 7, offset: 0, length: 0
    )

    @Test("nlm4_lockargs decodes field by field and encodes back to the same bytes")
    func lockArgs() throws {
        var buffer = ByteBuffer(bytes: Self.lockArgsBytes)
        let args = try NLM4LockArgs(xdr: &buffer)
        #expect(buffer.readableBytes == 0)
        #expect(args == NLM4LockArgs(cookie: hex("de ad be ef"), block: true, exclusive: true, lock: Self.lock, reclaim: false, state: 3))
        #expect(args.lock.owner == NLMLockOwner(callerName: "vm", svid: 7, ownerHandle: Array("7@vm".utf8)))
        #expect(args.lock.range == NLMRange.wholeFile)
        #expect(encoded(args) == Self.lockArgsBytes)
    }

    @Test("64-bit offsets and lengths, negative svid, padding of odd-length strings")
    func lockFields() throws {
        let lock = NLM4Lock(
            callerName: "abcde", fileHandle: [1, 2, 3], ownerHandle: [], svid: -2,
            offset: 0x0000_0001_0000_0002, length: 0xFFFF_FFFF_FFFF_FFFF
        )
        let bytes = hex(
            """
            00 00 00 05  61 62 63 64  65 00 00 00
            00 00 00 03  01 02 03 00
            00 00 00 00
            ff ff ff fe
            00 00 00 01 00 00 00 02
            ff ff ff ff ff ff ff ff
            """
        )
        #expect(encoded(lock) == bytes)
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try NLM4Lock(xdr: &buffer) == lock)
    }

    @Test("nlm4_res: cookie and status")
    func result() {
        #expect(encoded(NLM4Result(cookie: hex("01 02 03"), status: .blocked)) == hex("00 00 00 03 01 02 03 00  00 00 00 03"))
        #expect(encoded(NLM4Result(cookie: [], status: .deniedGracePeriod)) == hex("00 00 00 00  00 00 00 04"))
    }

    @Test("nlm4_stats has the numbers of the specification")
    func statusNumbers() {
        #expect(NLM4Status.allCases.map(\.rawValue) == Array(0...9))
        #expect(NLM4Status.staleFileHandle.rawValue == 7)
        #expect(NLM4Status.readOnlyFileSystem.rawValue == 6)
    }

    @Test("nlm4_testres carries the holder only with NLM4_DENIED")
    func testResult() throws {
        let denied = NLM4TestResult(
            cookie: hex("aa"), status: .denied,
            holder: NLM4Holder(exclusive: true, svid: 9, ownerHandle: Array("9@h".utf8), offset: 10, length: 0)
        )
        let bytes = hex(
            """
            00 00 00 01  aa 00 00 00
            00 00 00 01
            00 00 00 01
            00 00 00 09
            00 00 00 03  39 40 68 00
            00 00 00 00 00 00 00 0a
            00 00 00 00 00 00 00 00
            """
        )
        #expect(encoded(denied) == bytes)
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try NLM4TestResult(xdr: &buffer) == denied)

        #expect(encoded(NLM4TestResult(cookie: [], status: .granted)) == hex("00 00 00 00  00 00 00 00"))
        #expect(encoded(NLM4TestResult(cookie: [], status: .staleFileHandle)) == hex("00 00 00 00  00 00 00 07"))
    }

    @Test("nlm4_testargs, nlm4_cancargs and nlm4_unlockargs share nlm4_lock")
    func otherArgs() throws {
        let lockBytes = Array(Self.lockArgsBytes[16..<(Self.lockArgsBytes.count - 8)])
        var test = ByteBuffer(bytes: hex("00 00 00 00  00 00 00 00") + lockBytes)
        #expect(try NLM4TestArgs(xdr: &test) == NLM4TestArgs(cookie: [], exclusive: false, lock: Self.lock))
        var cancel = ByteBuffer(bytes: hex("00 00 00 01 05 00 00 00  00 00 00 01  00 00 00 00") + lockBytes)
        #expect(try NLM4CancelArgs(xdr: &cancel) == NLM4CancelArgs(cookie: [5], block: true, exclusive: false, lock: Self.lock))
        var unlock = ByteBuffer(bytes: hex("00 00 00 00") + lockBytes)
        #expect(try NLM4UnlockArgs(xdr: &unlock) == NLM4UnlockArgs(cookie: [], lock: Self.lock))
    }

    @Test("share arguments and results, notify")
    func shares() throws {
        var args = ByteBuffer(bytes: hex(
            """
            00 00 00 01  07 00 00 00
            00 00 00 03  70 63 31 00
            00 00 00 02  01 02 00 00
            00 00 00 01  09 00 00 00
            00 00 00 02
            00 00 00 01
            00 00 00 01
            """
        ))
        let decoded = try NLM4ShareArgs(xdr: &args)
        #expect(decoded == NLM4ShareArgs(
            cookie: [7], share: NLM4Share(callerName: "pc1", fileHandle: [1, 2], ownerHandle: [9], mode: .denyWrite, access: .read),
            reclaim: true
        ))
        #expect(encoded(NLM4ShareResult(cookie: [7], status: .readOnlyFileSystem)) == hex("00 00 00 01 07 00 00 00  00 00 00 06  00 00 00 00"))

        var notify = ByteBuffer(bytes: hex("00 00 00 02 76 6d 00 00  00 00 00 05"))
        #expect(try NLM4Notify(xdr: &notify) == NLM4Notify(name: "vm", state: 5))
    }

    @Test("limits: a netobj over 1024 bytes and an unknown status are garbage")
    func limits() {
        var long = ByteBuffer(bytes: hex("00 00 04 01") + [UInt8](repeating: 0, count: 1028))
        #expect(throws: XDRError.self) { try NLM4UnlockArgs(xdr: &long) }
        var badStatus = ByteBuffer(bytes: hex("00 00 00 00  00 00 00 0a"))
        #expect(throws: XDRError.self) { try NLM4Result(xdr: &badStatus) }
        var truncated = ByteBuffer(bytes: Array(Self.lockArgsBytes.dropLast(4)))
        #expect(throws: XDRError.self) { try NLM4LockArgs(xdr: &truncated) }
    }
}
