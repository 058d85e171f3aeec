/// Directories in which something changed since the last rescan.
public struct ChangeBatch: Equatable, Sendable {
    /// Export-relative paths of the directories that reported events
    /// (`share/sub`); a directory's own deletion or move marks it too. By
    /// exact bytes: NFC and NFD "café" are two directories.
    public var directories: Set<ExactPath> = []
    /// The kernel dropped events (`IN_Q_OVERFLOW`): only a full rescan can
    /// tell what changed.
    public var overflowed = false
    /// How many events the batch gathered.
    public var eventCount = 0

    public init(directories: Set<ExactPath> = [], overflowed: Bool = false, eventCount: Int = 0) {
        self.directories = directories
        self.overflowed = overflowed
        self.eventCount = eventCount
    }
}

extension ChangeBatch {
    /// Adds `other`'s changes to this batch's (batches waiting for a rescan
    /// still under way).
    public mutating func merge(_ other: ChangeBatch) {
        self.directories.formUnion(other.directories)
        self.overflowed = self.overflowed || other.overflowed
        self.eventCount += other.eventCount
    }
}

/// Gathers inotify events into batches, so that a burst of writes costs one
/// rescan and one catalog generation rather than one per file.
///
/// A batch is due once no event came for `settle`, or `maximumLatency`
/// after its first event even if events keep coming, so a file written
/// constantly still shows within about a second. A plain value: the watcher's
/// thread feeds it events and clock readings.
public struct ChangeBatcher: Sendable {
    public let settle: Duration
    public let maximumLatency: Duration
    private var pending: ChangeBatch?
    private var firstEvent: ContinuousClock.Instant?
    private var lastEvent: ContinuousClock.Instant?

    public init(settle: Duration = .milliseconds(200), maximumLatency: Duration = .seconds(1)) {
        self.settle = settle
        self.maximumLatency = maximumLatency
    }

    /// Records events read at `now`; `directory` names the directory a
    /// watch descriptor stands for (nil for a watch already gone).
    public mutating func record(
        _ events: [InotifyEvent], at now: ContinuousClock.Instant, directory: (Int32) -> String?
    ) {
        for event in events {
            if event.mask.contains(.queueOverflow) {
                self.mark(at: now) { $0.overflowed = true }
                continue
            }
            // IN_IGNORED alone: a watch went away, which the deletion or
            // move event of its parent already reported.
            guard !event.mask.intersection(.watched).isEmpty else { continue }
            let path = directory(event.watch)
            self.mark(at: now) { batch in
                if let path { batch.directories.insert(ExactPath(path)) }
            }
        }
    }

    private mutating func mark(at now: ContinuousClock.Instant, _ update: (inout ChangeBatch) -> Void) {
        var batch = self.pending ?? ChangeBatch()
        update(&batch)
        batch.eventCount += 1
        self.pending = batch
        if self.firstEvent == nil { self.firstEvent = now }
        self.lastEvent = now
    }

    /// When the pending batch is due (nil when nothing is pending).
    public var deadline: ContinuousClock.Instant? {
        guard let first = self.firstEvent, let last = self.lastEvent else { return nil }
        return min(last + self.settle, first + self.maximumLatency)
    }

    /// The pending batch if it is due at `now`, emptying the batcher.
    public mutating func take(at now: ContinuousClock.Instant) -> ChangeBatch? {
        guard let deadline = self.deadline, now >= deadline, let batch = self.pending else { return nil }
        self.pending = nil
        self.firstEvent = nil
        self.lastEvent = nil
        return batch
    }
}
