/// What differs between the settings a daemon runs with and a reloaded
/// configuration, key by key, compared on the arguments each key stands for.
///
/// Comparing arguments rather than typed settings keeps this systematic: a
/// flag added later is a restart-only key with no code here.
public struct ConfigurationChange: Sendable, Equatable {
    /// A key whose values differ, with both sides as given.
    public struct Difference: Sendable, Equatable {
        public var key: ConfigurationKey
        public var running: [String]
        public var reloaded: [String]
    }

    public var differences: [Difference]

    public init(running: [String], reloaded: [String]) {
        let old = Self.values(in: running)
        let new = Self.values(in: reloaded)
        self.differences = ConfigurationKey.all.compactMap { key in
            let before = old[key.name] ?? []
            let after = new[key.name] ?? []
            return before == after ? nil : Difference(key: key, running: before, reloaded: after)
        }
    }

    /// Differences a running daemon applies (exports, peers).
    public var applicable: [Difference] { self.differences.filter { $0.key.reload != .restart } }
    /// Differences that wait for a restart.
    public var needingRestart: [Difference] { self.differences.filter { $0.key.reload == .restart } }

    /// Each key's values in `arguments` (`--key VALUE` or `--key=VALUE`), in
    /// order; a single-valued flag given twice counts as its last value.
    public static func values(in arguments: [String]) -> [String: [String]] {
        var values: [String: [String]] = [:]
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let name: String
            let value: String
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[argument.index(argument.startIndex, offsetBy: 2)..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = String(argument.dropFirst(2))
                guard index < arguments.endIndex else { break }
                value = arguments[index]
                index += 1
            }
            guard let key = ConfigurationKey.named(name) else { continue }
            values[name] = key.kind == .strings ? (values[name] ?? []) + [value] : [value]
        }
        return values
    }

    /// `running` with the applicable keys' values taken from `reloaded`: what
    /// the daemon runs with once the change is applied.
    public static func applying(_ reloaded: [String], to running: [String]) -> [String] {
        let new = Self.values(in: reloaded)
        let old = Self.values(in: running)
        return ConfigurationKey.all.flatMap { key -> [String] in
            let values = (key.reload == .restart ? old[key.name] : new[key.name]) ?? []
            return values.flatMap { [key.flag, $0] }
        }
    }
}
