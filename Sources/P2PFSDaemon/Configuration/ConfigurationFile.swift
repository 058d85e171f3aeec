import TOMLKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A `p2pfs daemon --config FILE`: a flat TOML table whose keys are the
/// daemon's flags (`ConfigurationKey`), turned into the arguments those flags
/// would be.
///
/// Precedence is flags > file > defaults: `arguments(commandLine:)` drops the
/// file's value of every flag given on the command line, so a repeated flag
/// (`--peer`) replaces the file's list rather than adding to it.
public struct ConfigurationFile: Sendable, Equatable {
    /// One key of the file, with its value as command-line arguments.
    public struct Entry: Sendable, Equatable {
        public var key: ConfigurationKey
        /// The line the key is on (1-based), for error messages.
        public var line: Int
        /// The values, one per occurrence of the flag (several for an array).
        public var values: [String]

        /// `--key VALUE` for each value.
        public var arguments: [String] { self.values.flatMap { [self.key.flag, $0] } }
    }

    public var path: String
    /// The keys in the order of the file.
    public var entries: [Entry]

    /// Parses `text`, the content of the file at `path`.
    public init(path: String, text: String) throws(ConfigurationFileError) {
        self.path = path
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(path: path, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(path: path, line: 1, column: 1, message: "\(error)")
        }
        let lines = KeyLines(text: text)
        var entries: [Entry] = []
        for name in table.keys {
            let line = lines.line(of: name)
            guard let key = ConfigurationKey.named(name) else {
                throw .unknownKey(path: path, line: line, key: name, suggestion: Self.suggestion(for: name))
            }
            guard let value = table[name] else { continue }
            let values = try Self.values(of: value, key: key, path: path, line: line)
            entries.append(Entry(key: key, line: line, values: values))
        }
        self.entries = entries.sorted { $0.line < $1.line }
    }

    /// Reads and parses the file at `path`. Blocking: call it at start-up or
    /// from a thread that may block, never on an event loop.
    public static func load(path: String) throws(ConfigurationFileError) -> ConfigurationFile {
        guard let file = fopen(path, "r") else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes += chunk[..<count] }
            if count < chunk.count {
                if ferror(file) != 0 { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
                break
            }
            // A configuration file is small; refuse to read a device or a log by mistake.
            if bytes.count > 1 << 20 { throw .unreadable(path: path, reason: "larger than 1 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return try ConfigurationFile(path: path, text: text)
    }

    public func entry(_ name: String) -> Entry? {
        self.entries.first { $0.key.name == name }
    }

    /// The file's entries for the flags `commandLine` does not give.
    public func entries(notGivenIn commandLine: [String]) -> [Entry] {
        let given = Self.flagsGiven(in: commandLine)
        return self.entries.filter { !given.contains($0.key.flag) }
    }

    /// The arguments a daemon runs with: the file's values for the flags not
    /// on the command line, then the command line itself.
    public func arguments(commandLine: [String]) -> [String] {
        self.entries(notGivenIn: commandLine).flatMap(\.arguments) + commandLine
    }

    /// The long flags present in `arguments` (`--name VALUE` or `--name=VALUE`),
    /// up to a `--` terminator.
    static func flagsGiven(in arguments: [String]) -> Set<String> {
        var flags: Set<String> = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            flags.insert(String(argument.prefix { $0 != "=" }))
        }
        return flags
    }

    private static func values(
        of value: any TOMLValueConvertible, key: ConfigurationKey, path: String, line: Int
    ) throws(ConfigurationFileError) -> [String] {
        let wrongType = ConfigurationFileError.wrongType(
            path: path, line: line, key: key.name, expected: key.kind.tomlName, found: Self.describe(value.type)
        )
        switch key.kind {
        case .string:
            guard let string = value.string else { throw wrongType }
            return [string]
        case .strings:
            guard let array = value.array else { throw wrongType }
            var strings: [String] = []
            for element in array {
                guard let string = element.string else {
                    throw .wrongType(
                        path: path, line: line, key: key.name, expected: key.kind.tomlName,
                        found: "an array holding \(Self.describe(element.type))"
                    )
                }
                strings.append(string)
            }
            return strings
        case .number:
            if value.type == .int, let int = value.int { return [String(int)] }
            guard value.type == .double, let double = value.double else { throw wrongType }
            return [String(double)]
        case .integer:
            guard value.type == .int, let int = value.int else { throw wrongType }
            return [String(int)]
        case .onOff:
            guard value.type == .bool, let bool = value.bool else { throw wrongType }
            return [bool ? "on" : "off"]
        }
    }

    private static func describe(_ type: TOMLType) -> String {
        switch type {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .int: "an integer"
        case .double: "a floating-point number"
        case .bool: "a boolean"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }

    /// The known key closest to a misspelt one (at most two edits away).
    static func suggestion(for name: String) -> String? {
        let scored = ConfigurationKey.all.map { ($0.name, Self.editDistance(Array(name), Array($0.name))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
        return best.0
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Where each top-level key of a TOML text is: TOMLKit reports positions for
/// syntax errors only, so keys are found by their `key =` or `[key]` line.
struct KeyLines {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = rawLine.drop { $0 == " " || $0 == "\t" }
            var isTable = false
            if line.hasPrefix("[") {
                line = line.dropFirst().drop { $0 == "[" || $0 == " " || $0 == "\t" }
                isTable = true
            }
            let key: Substring
            if let quote = line.first, quote == "\"" || quote == "'" {
                guard let end = line.dropFirst().firstIndex(of: quote) else { continue }
                key = line[line.index(after: line.startIndex)..<end]
                line = line[line.index(after: end)...]
            } else {
                let end = line.firstIndex { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") } ?? line.endIndex
                key = line[..<end]
                line = line[end...]
            }
            guard !key.isEmpty else { continue }
            let rest = line.drop { $0 == " " || $0 == "\t" }
            guard isTable ? (rest.hasPrefix("]") || rest.hasPrefix(".")) : (rest.hasPrefix("=") || rest.hasPrefix(".")) else { continue }
            if self.lines[String(key)] == nil { self.lines[String(key)] = number }
        }
    }

    /// The line of `key`, or 1 when it cannot be found.
    func line(of key: String) -> Int { self.lines[key] ?? 1 }
}
