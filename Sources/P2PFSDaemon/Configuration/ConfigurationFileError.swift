/// Why a configuration file cannot be used, naming the file, the line and the key.
public enum ConfigurationFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case syntax(path: String, line: Int, column: Int, message: String)
    case unknownKey(path: String, line: Int, key: String, suggestion: String?)
    case wrongType(path: String, line: Int, key: String, expected: String, found: String)
    case badValue(path: String, line: Int, key: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "\(path): cannot read: \(reason)"
        case .syntax(let path, let line, let column, let message):
            "\(path):\(line):\(column): not valid TOML: \(message)"
        case .unknownKey(let path, let line, let key, let suggestion):
            "\(path):\(line): unknown key '\(key)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .wrongType(let path, let line, let key, let expected, let found):
            "\(path):\(line): key '\(key)' must be \(expected), not \(found)"
        case .badValue(let path, let line, let key, let reason):
            "\(path):\(line): key '\(key)': \(reason)"
        }
    }
}
