import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Warnings about refused peer connections, at most `burst` in any
/// `window`. Every refusal is worth a line when it is a misconfigured
/// node, but a port scan, or a node outside a `--trust` list retrying every
/// few seconds, would otherwise fill the journal. What is held back is
/// counted and said with the next warning let through.
public final class RefusalLog: Sendable {
    /// The decision, as a value: tested without clocks or loggers.
    public struct Limiter: Sendable, Equatable {
        public enum Decision: Equatable, Sendable {
            /// Log it; `heldBack` refusals were not logged since the last
            /// warning.
            case log(heldBack: Int)
            case holdBack
        }

        public let burst: Int
        public let window: TimeAmount
        private var windowStart: NIODeadline?
        private var loggedInWindow = 0
        private var heldBack = 0

        public init(burst: Int, window: TimeAmount) {
            precondition(burst > 0, "a limiter that logs nothing hides every refusal")
            self.burst = burst
            self.window = window
        }

        public mutating func admit(at now: NIODeadline) -> Decision {
            if let start = self.windowStart, now - start < self.window {
                guard self.loggedInWindow < self.burst else {
                    self.heldBack += 1
                    return .holdBack
                }
            } else {
                self.windowStart = now
                self.loggedInWindow = 0
            }
            self.loggedInWindow += 1
            defer { self.heldBack = 0 }
            return .log(heldBack: self.heldBack)
        }
    }

    private let limiter: NIOLockedValueBox<Limiter>
    private let now: @Sendable () -> NIODeadline

    public init(burst: Int = 10, window: TimeAmount = .seconds(60), now: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.limiter = NIOLockedValueBox(Limiter(burst: burst, window: window))
        self.now = now
    }

    /// Logs `message` as a warning unless this window's share is spent.
    public func warning(_ message: @autoclosure () -> String, peer: String?, logger: Logger) {
        let time = self.now()
        switch self.limiter.withLockedValue({ $0.admit(at: time) }) {
        case .holdBack:
            return
        case .log(let heldBack):
            var metadata: Logger.Metadata = [:]
            if let peer { metadata["peer"] = "\(peer)" }
            let note = heldBack > 0 ? " (and \(heldBack) more refused since the last warning, not logged one by one)" : ""
            logger.warning("\(message())\(note)", metadata: metadata)
        }
    }
}
