/// `nlm4_stats`.
public enum NLM4Status: UInt32, Error, Sendable, Equatable, CaseIterable {
    case granted = 0
    case denied = 1
    case deniedNoLocks = 2
    case blocked = 3
    case deniedGracePeriod = 4
    case deadlock = 5
    case readOnlyFileSystem = 6
    case staleFileHandle = 7
    case fileTooBig = 8
    case failed = 9
}
