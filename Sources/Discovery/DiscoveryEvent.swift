/// What discovery tells the rest of the node.
public enum DiscoveryEvent: Equatable, Sendable {
    /// A complete instance appeared: a seed candidate for the crawler.
    case added(DiscoveredInstance)
    /// Its port, addresses or TXT changed.
    case updated(DiscoveredInstance)
    /// It said goodbye, expired or was evicted.
    case removed(DNSName)
    /// Our own name was taken; we now advertise these labels.
    case renamed(instance: String, host: String)
}
