import NIOCore
import Testing
import XDR

func bytes(_ buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
}

@Suite("XDR integers and booleans (RFC 4506 §4.1–4.5)")
struct XDRIntegerTests {
    @Test func signedIntegerIsBigEndianTwosComplement() throws {
        var out = ByteBuffer()
        #expect(out.writeXDRInt32(-1) == 4)
        out.writeXDRInt32(1)
        out.writeXDRInt32(Int32.min)
        #expect(bytes(out) == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0x80, 0, 0, 0])
        #expect(try out.readXDRInt32() == -1)
        #expect(try out.readXDRInt32() == 1)
        #expect(try out.readXDRInt32() == Int32.min)
        #expect(out.readableBytes == 0)
    }

    @Test func unsignedInteger() throws {
        var out = ByteBuffer()
        out.writeXDRUInt32(0xDEAD_BEEF)
        #expect(bytes(out) == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(try out.readXDRUInt32() == 0xDEAD_BEEF)
    }

    @Test func hyperIntegersAreEightBytesMostSignificantFirst() throws {
        var out = ByteBuffer()
        #expect(out.writeXDRUInt64(0x0102_0304_0506_0708) == 8)
        out.writeXDRInt64(-2)
        #expect(bytes(out) == [1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(try out.readXDRUInt64() == 0x0102_0304_0506_0708)
        #expect(try out.readXDRInt64() == -2)
    }

    @Test func booleansAreZeroAndOne() throws {
        var out = ByteBuffer()
        out.writeXDRBool(true)
        out.writeXDRBool(false)
        #expect(bytes(out) == [0, 0, 0, 1, 0, 0, 0, 0])
        #expect(try out.readXDRBool() == true)
        #expect(try out.readXDRBool() == false)
    }

    @Test func boolOtherThanZeroOrOneIsRejected() {
        var input = buffer([0, 0, 0, 2])
        #expect(throws: XDRError.invalidBool(2)) { try input.readXDRBool() }
    }

    enum Color: UInt32 { case red = 0, green = 1, blue = 2 }

    @Test func enumsMapThroughRawValues() throws {
        var out = ByteBuffer()
        out.writeXDREnum(Color.blue)
        #expect(bytes(out) == [0, 0, 0, 2])
        #expect(try out.readXDREnum(Color.self) == .blue)
        var bad = buffer([0, 0, 0, 7])
        #expect(throws: XDRError.invalidDiscriminant(type: "Color", value: 7)) { try bad.readXDREnum(Color.self) }
    }

    @Test func truncatedIntegersReportWhatWasMissing() {
        var three = buffer([0, 0, 1])
        #expect(throws: XDRError.truncated(needed: 4, available: 3)) { try three.readXDRUInt32() }
        var seven = buffer([0, 0, 0, 0, 0, 0, 1])
        #expect(throws: XDRError.truncated(needed: 8, available: 7)) { try seven.readXDRUInt64() }
        var empty = ByteBuffer()
        #expect(throws: XDRError.truncated(needed: 4, available: 0)) { try empty.readXDRBool() }
    }
}

@Suite("XDR opaque data and strings (RFC 4506 §4.9–4.11)")
struct XDROpaqueTests {
    @Test func paddingRoundsUpToFourBytes() {
        #expect((0...8).map(ByteBuffer.xdrPadding) == [0, 3, 2, 1, 0, 3, 2, 1, 0])
    }

    @Test func fixedOpaqueIsPaddedWithZeros() throws {
        var out = ByteBuffer()
        #expect(out.writeXDRFixedOpaque([1, 2, 3]) == 4)
        #expect(out.writeXDRFixedOpaque([4, 5, 6, 7]) == 4)
        #expect(bytes(out) == [1, 2, 3, 0, 4, 5, 6, 7])
        #expect(bytes(try out.readXDRFixedOpaque(length: 3)) == [1, 2, 3])
        #expect(bytes(try out.readXDRFixedOpaque(length: 4)) == [4, 5, 6, 7])
        #expect(out.readableBytes == 0)
    }

    @Test func fixedOpaqueNeedsItsPaddingToo() {
        var input = buffer([1, 2, 3])
        #expect(throws: XDRError.truncated(needed: 4, available: 3)) { try input.readXDRFixedOpaque(length: 3) }
    }

    @Test func variableOpaqueHasLengthThenPaddedBytes() throws {
        var out = ByteBuffer()
        #expect(out.writeXDRVariableOpaque([0xAA, 0xBB, 0xCC, 0xDD, 0xEE]) == 12)
        out.writeXDRVariableOpaque(ByteBuffer())
        out.writeXDRVariableOpaque(buffer([9]))
        #expect(bytes(out) == [0, 0, 0, 5, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0])
        #expect(bytes(try out.readXDRVariableOpaque()) == [0xAA, 0xBB, 0xCC, 0xDD, 0xEE])
        #expect(try out.readXDRVariableOpaque().readableBytes == 0)
        #expect(bytes(try out.readXDRVariableOpaque(limit: 1)) == [9])
        #expect(out.readableBytes == 0)
    }

    @Test func lengthOverTheLimitIsRejectedBeforeReading() {
        var input = buffer([0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0])
        #expect(throws: XDRError.lengthLimitExceeded(length: 5, limit: 4)) { try input.readXDRVariableOpaque(limit: 4) }
        var hostile = buffer([0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: XDRError.lengthLimitExceeded(length: 0xFFFF_FFFF, limit: 1024)) {
            try hostile.readXDRString(limit: 1024)
        }
    }

    @Test func hugeClaimedLengthWithinLimitIsTruncatedNotAllocated() {
        var hostile = buffer([0xFF, 0xFF, 0xFF, 0xFC, 1, 2, 3, 4])
        #expect(throws: XDRError.truncated(needed: 0xFFFF_FFFC, available: 4)) { try hostile.readXDRVariableOpaque() }
    }

    @Test func stringsAreCountedUTF8() throws {
        var out = ByteBuffer()
        #expect(out.writeXDRString("sillyprog") == 16)
        out.writeXDRString("")
        out.writeXDRString("é")
        #expect(
            bytes(out) == [0, 0, 0, 9, 0x73, 0x69, 0x6C, 0x6C, 0x79, 0x70, 0x72, 0x6F, 0x67, 0, 0, 0]
                + [0, 0, 0, 0] + [0, 0, 0, 2, 0xC3, 0xA9, 0, 0]
        )
        #expect(try out.readXDRString() == "sillyprog")
        #expect(try out.readXDRString() == "")
        #expect(try out.readXDRString(limit: 2) == "é")
    }

    @Test func invalidUTF8IsRejected() {
        var input = buffer([0, 0, 0, 2, 0xC3, 0x28, 0, 0])
        #expect(throws: XDRError.invalidUTF8) { try input.readXDRString() }
        var lone = buffer([0, 0, 0, 1, 0xFF, 0, 0, 0])
        #expect(throws: XDRError.invalidUTF8) { try lone.readXDRString() }
    }

    @Test func readSlicesShareTheBufferAndSkipPadding() throws {
        var input = buffer([0, 0, 0, 3, 7, 8, 9, 0, 0xAB, 0xCD, 0xEF, 0x01])
        let slice = try input.readXDRVariableOpaque()
        #expect(bytes(slice) == [7, 8, 9])
        #expect(input.readerIndex == 8)
        #expect(try input.readXDRUInt32() == 0xABCD_EF01)
    }
}

@Suite("XDR arrays and optional-data (RFC 4506 §4.12–4.13, §4.19)")
struct XDRCompositeTests {
    @Test func variableArrayIsCountThenElements() throws {
        var out = ByteBuffer()
        out.writeXDRArray([UInt32(1), 2, 3]) { $0.writeXDRUInt32($1) }
        #expect(bytes(out) == [0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3])
        let decoded = try out.readXDRArray(limit: 3) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        #expect(decoded == [1, 2, 3])
    }

    @Test func arrayOfStringsPadsEachElement() throws {
        var out = ByteBuffer()
        out.writeXDRArray(["a", "bcde"]) { $0.writeXDRString($1) }
        #expect(bytes(out) == [0, 0, 0, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 4, 0x62, 0x63, 0x64, 0x65])
        #expect(try out.readXDRArray(limit: 8) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRString() } == ["a", "bcde"])
    }

    @Test func arrayCountOverTheLimitIsRejected() {
        var input = buffer([0, 0, 0, 17] + [UInt8](repeating: 0, count: 68))
        #expect(throws: XDRError.lengthLimitExceeded(length: 17, limit: 16)) {
            try input.readXDRArray(limit: 16) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        }
    }

    @Test func arrayCountBeyondTheBytesPresentIsRejectedBeforeReserving() {
        var input = buffer([0x0F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1])
        #expect(throws: XDRError.truncated(needed: 0x0FFF_FFFF * 4, available: 4)) {
            try input.readXDRArray(limit: Int(UInt32.max)) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        }
    }

    @Test func optionalDataIsABoolThenTheValue() throws {
        var out = ByteBuffer()
        out.writeXDROptional(UInt32(42)) { $0.writeXDRUInt32($1) }
        out.writeXDROptional(UInt32?.none) { $0.writeXDRUInt32($1) }
        #expect(bytes(out) == [0, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0, 0])
        #expect(try out.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() } == 42)
        #expect(try out.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() } == nil)
        var bad = buffer([0, 0, 0, 3])
        #expect(throws: XDRError.invalidBool(3)) {
            try bad.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        }
    }

    /// RFC 4506 §4.19: `struct stringentry { string item<>; stringentry *next; }`,
    /// a linked list as nested optional-data.
    @Test func optionalDataLinkedList() throws {
        func write(_ items: ArraySlice<String>, into out: inout ByteBuffer) {
            guard let first = items.first else { return }
            out.writeXDRString(first)
            out.writeXDROptional(items.count > 1 ? items.dropFirst() : nil) { buffer, rest in
                write(rest, into: &buffer)
                return 0
            }
        }
        var out = ByteBuffer()
        out.writeXDRBool(true)
        write(["ab", "c"], into: &out)
        #expect(bytes(out) == [0, 0, 0, 1, 0, 0, 0, 2, 0x61, 0x62, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x63, 0, 0, 0, 0, 0, 0, 0])

        var items: [String] = []
        var more = try out.readXDRBool()
        var guardCount = 0
        while more && guardCount < 10 {
            items.append(try out.readXDRString())
            more = try out.readXDRBool()
            guardCount += 1
        }
        #expect(items == ["ab", "c"])
        #expect(out.readableBytes == 0)
    }
}
