/// One event read from an inotify descriptor, as a plain value.
///
/// The mask bits are Linux's ABI (`<sys/inotify.h>`), spelled out here so the
/// decoder and the batching logic can be tested without a kernel.
public struct InotifyEvent: Equatable, Sendable {
    public struct Mask: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let modify = Mask(rawValue: 0x0000_0002)
        public static let attrib = Mask(rawValue: 0x0000_0004)
        public static let closeWrite = Mask(rawValue: 0x0000_0008)
        public static let movedFrom = Mask(rawValue: 0x0000_0040)
        public static let movedTo = Mask(rawValue: 0x0000_0080)
        public static let create = Mask(rawValue: 0x0000_0100)
        public static let delete = Mask(rawValue: 0x0000_0200)
        public static let deleteSelf = Mask(rawValue: 0x0000_0400)
        public static let moveSelf = Mask(rawValue: 0x0000_0800)
        /// The kernel dropped events: the watcher must rescan everything.
        public static let queueOverflow = Mask(rawValue: 0x0000_4000)
        /// The watch is gone (directory deleted, unmounted or removed).
        public static let ignored = Mask(rawValue: 0x0000_8000)
        public static let onlyDirectory = Mask(rawValue: 0x0100_0000)
        public static let isDirectory = Mask(rawValue: 0x4000_0000)

        /// What the export watcher asks for on every directory.
        public static let watched: Mask = [
            .create, .delete, .movedFrom, .movedTo, .closeWrite, .attrib, .modify, .deleteSelf, .moveSelf,
        ]
    }

    public var watch: Int32
    public var mask: Mask
    public var cookie: UInt32
    /// The entry's name inside the watched directory, as bytes (empty for
    /// events about the directory itself).
    public var name: [UInt8]

    public init(watch: Int32, mask: Mask, cookie: UInt32 = 0, name: [UInt8] = []) {
        self.watch = watch
        self.mask = mask
        self.cookie = cookie
        self.name = name
    }
}
