import Namespace
import Testing

/// `InotifyEventDecoder`: records built by hand the way the kernel lays out
/// `struct inotify_event` (host byte order, NUL-padded name).
@Suite struct InotifyEventDecoderTests {
    static func record(watch: Int32, mask: UInt32, cookie: UInt32 = 0, name: [UInt8] = [], padTo length: Int? = nil) -> [UInt8] {
        let padded = name + [UInt8](repeating: 0, count: (length ?? name.count) - name.count)
        func bytes(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
        return bytes(UInt32(bitPattern: watch)) + bytes(mask) + bytes(cookie) + bytes(UInt32(padded.count)) + padded
    }

    @Test func aRecordWithoutNameAndOneWithAPaddedName() {
        let bytes = Self.record(watch: 1, mask: 0x400) + Self.record(watch: 7, mask: 0x4000_0100, name: Array("sub".utf8), padTo: 16)
        let (events, consumed) = InotifyEventDecoder.decode(bytes)
        #expect(consumed == 16 + 32)
        #expect(events == [
            InotifyEvent(watch: 1, mask: .deleteSelf),
            InotifyEvent(watch: 7, mask: [.create, .isDirectory], name: Array("sub".utf8)),
        ])
    }

    @Test func namesAreBytesAndCookiesPairRenames() {
        let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]
        let bytes = Self.record(watch: 2, mask: 0x40, cookie: 99, name: latin1, padTo: 8)
            + Self.record(watch: 3, mask: 0x80, cookie: 99, name: Array("new".utf8), padTo: 4)
        let (events, consumed) = InotifyEventDecoder.decode(bytes)
        #expect(consumed == bytes.count)
        #expect(events.map(\.name) == [latin1, Array("new".utf8)])
        #expect(events.map(\.cookie) == [99, 99])
        #expect(events.map(\.mask) == [.movedFrom, .movedTo])
    }

    @Test func anOverflowRecordHasWatchMinusOne() {
        let (events, _) = InotifyEventDecoder.decode(Self.record(watch: -1, mask: 0x4000))
        #expect(events == [InotifyEvent(watch: -1, mask: .queueOverflow)])
    }

    @Test func truncatedBuffersStopAtTheLastWholeRecord() {
        let whole = Self.record(watch: 1, mask: 0x100, name: Array("a".utf8), padTo: 16)
        let second = Self.record(watch: 2, mask: 0x200, name: Array("b".utf8), padTo: 16)
        // Cut inside the second header, then inside its name.
        for cut in [1, 15, 16, 17, 31] {
            let (events, consumed) = InotifyEventDecoder.decode(whole + second.prefix(cut))
            #expect(events == [InotifyEvent(watch: 1, mask: .create, name: Array("a".utf8))], "cut at \(cut)")
            #expect(consumed == whole.count, "cut at \(cut)")
        }
        let (none, consumedNone) = InotifyEventDecoder.decode(whole.prefix(10))
        #expect(none.isEmpty)
        #expect(consumedNone == 0)
        #expect(InotifyEventDecoder.decode([UInt8]()).consumed == 0)
    }

    @Test func aLengthBeyondTheBufferIsNotRead() {
        // A header claiming a 4 GiB name: nothing decoded, nothing consumed.
        var bytes = Self.record(watch: 1, mask: 0x100)
        bytes.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let (events, consumed) = InotifyEventDecoder.decode(bytes + [1, 2, 3])
        #expect(events.isEmpty)
        #expect(consumed == 0)
    }
}
