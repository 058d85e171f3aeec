/// Decodes the `struct inotify_event` records a `read` of an inotify
/// descriptor returns: `wd`, `mask`, `cookie`, `len` (host byte order), then
/// `len` bytes of NUL-padded name.
///
/// A record cut short (a partial buffer) is left undecoded and reported as
/// not consumed, so a caller can keep the tail and complete it later; the
/// kernel itself only ever returns whole records.
public enum InotifyEventDecoder {
    public static let headerSize = 16

    /// Decodes every whole record at the start of `bytes`; returns them and
    /// how many bytes they used.
    public static func decode(_ bytes: some Collection<UInt8>) -> (events: [InotifyEvent], consumed: Int) {
        let bytes = Array(bytes)
        var events: [InotifyEvent] = []
        var offset = 0
        while bytes.count - offset >= Self.headerSize {
            let length = Int(Self.word(bytes, offset + 12))
            guard bytes.count - offset - Self.headerSize >= length else { break }
            let nameStart = offset + Self.headerSize
            let nameBytes = bytes[nameStart..<nameStart + length]
            let name = Array(nameBytes.prefix { $0 != 0 })
            events.append(
                InotifyEvent(
                    watch: Int32(bitPattern: Self.word(bytes, offset)),
                    mask: .init(rawValue: Self.word(bytes, offset + 4)),
                    cookie: Self.word(bytes, offset + 8),
                    name: name
                )
            )
            offset = nameStart + length
        }
        return (events, offset)
    }

    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }
}
