/// One setting of the configuration file: the long name of a `p2pfs daemon`
/// flag, used as the key, and the TOML type its value takes.
///
/// The file is turned into the same arguments the flags would be, so the
/// flags' own validation applies to it; a flag added to the daemon takes one
/// line in `all`.
public struct ConfigurationKey: Sendable, Hashable {
    /// The TOML type of a value, and how it becomes arguments.
    public enum Kind: Sendable, Hashable {
        /// A string: `--key VALUE`.
        case string
        /// An array of strings, for a repeatable flag: `--key A --key B`.
        case strings
        /// An integer or floating-point number.
        case number
        /// An integer.
        case integer
        /// `true` or `false`, for a flag taking `on` or `off`.
        case onOff

        var tomlName: String {
            switch self {
            case .string: "a string"
            case .strings: "an array of strings"
            case .number: "a number"
            case .integer: "an integer"
            case .onOff: "true or false"
            }
        }
    }

    /// What a running daemon does when the key changes on reload (SIGHUP).
    public enum Reload: Sendable, Hashable {
        /// Applied at once: exports added or removed.
        case exports
        /// Applied at once: seed peers added or removed.
        case peers
        /// Kept until the daemon restarts (listen addresses, the state directory...).
        case restart
    }

    public var name: String
    public var kind: Kind
    public var reload: Reload

    public init(_ name: String, _ kind: Kind, reload: Reload = .restart) {
        self.name = name
        self.kind = kind
        self.reload = reload
    }

    /// The command-line flag the key stands for.
    public var flag: String { "--" + self.name }

    /// Every key: one per `p2pfs daemon` option but `--config` itself.
    public static let all: [ConfigurationKey] = [
        .init("export", .strings, reload: .exports),
        .init("listen", .string),
        .init("peer", .strings, reload: .peers),
        .init("nfs", .string),
        .init("nfs-versions", .string),
        .init("name", .string),
        .init("state-dir", .string),
        .init("portmap", .string),
        .init("crawl-interval", .number),
        .init("peer-timeout", .number),
        .init("rescan-interval", .number),
        .init("cache-size", .integer),
        .init("network-key-file", .string),
        .init("trust", .strings),
        .init("discovery", .onOff),
        .init("metrics", .string),
        .init("log-level", .string),
    ]

    public static func named(_ name: String) -> ConfigurationKey? {
        Self.all.first { $0.name == name }
    }
}
