#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A directory this node offers, under a name that becomes the top-level
/// directory of the namespace (`--export movies=/srv/movies` → `/movies`).
public struct LocalExport: Hashable, Sendable {
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    /// Parses the command-line form `NAME=PATH`.
    public init(argument: String) throws(LocalExportError) {
        guard let equals = argument.firstIndex(of: "=") else {
            throw .malformedArgument(argument)
        }
        let name = String(argument[..<equals])
        let path = String(argument[argument.index(after: equals)...])
        guard NamespacePath.isValidName(name) else { throw .invalidName(name) }
        guard !path.isEmpty else { throw .malformedArgument(argument) }
        self.init(name: name, path: path)
    }

    /// By bytes (`ExactPath`): a reload that changes an export's name or
    /// path from NFC to NFD "café" changes the export, as it does on disk
    /// and on the wire, though the two are one `String`.
    public static func == (lhs: LocalExport, rhs: LocalExport) -> Bool {
        ExactPath(lhs.name) == ExactPath(rhs.name) && ExactPath(lhs.path) == ExactPath(rhs.path)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ExactPath(self.name))
        hasher.combine(ExactPath(self.path))
    }
}

/// Why an export could not be offered.
public enum LocalExportError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedArgument(String)
    case invalidName(String)
    case duplicateName(String)
    case cannotOpen(path: String, errno: Int32)
    case notADirectory(path: String)

    public var description: String {
        switch self {
        case .malformedArgument(let argument):
            return "export '\(argument)' is not of the form NAME=PATH"
        case .invalidName(let name):
            return "export name '\(name)' is not a single file name (no '/', not '.' or '..', at most 255 bytes)"
        case .duplicateName(let name):
            return "export name '\(name)' is given twice"
        case .cannotOpen(let path, let code):
            return "cannot open export directory '\(path)': \(String(cString: strerror(code)))"
        case .notADirectory(let path):
            return "export path '\(path)' is not a directory"
        }
    }
}

/// An export's root directory, opened once at start-up.
///
/// Every later access goes through this descriptor with `openat`-style calls
/// that refuse to leave it, so renaming or replacing the path afterwards,
/// `..` in names, or symlinks planted inside never reach outside the export.
public final class ExportRoot: Sendable {
    public let name: String
    public let path: String
    let descriptor: CInt

    public init(_ export: LocalExport) throws(LocalExportError) {
        let descriptor = open(export.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw code == ENOTDIR ? .notADirectory(path: export.path) : .cannotOpen(path: export.path, errno: code)
        }
        self.name = export.name
        self.path = export.path
        self.descriptor = descriptor
    }

    /// Opens every export, refusing duplicate names (by their bytes: NFC
    /// and NFD "café" are two top-level directories).
    public static func openAll(_ exports: [LocalExport]) throws(LocalExportError) -> [ExportRoot] {
        var seen = Set<ExactPath>()
        var roots: [ExportRoot] = []
        for export in exports {
            guard seen.insert(ExactPath(export.name)).inserted else { throw .duplicateName(export.name) }
            roots.append(try ExportRoot(export))
        }
        return roots
    }

    deinit {
        close(self.descriptor)
    }
}
