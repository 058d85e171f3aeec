/// The kinds of entry a namespace holds. Devices, sockets and FIFOs in an
/// export are not offered: they have no content another machine could read.
public enum FileKind: UInt8, Sendable, Hashable {
    case regular = 1
    case directory = 2
    case symlink = 5
}
