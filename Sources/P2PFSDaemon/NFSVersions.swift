/// Which NFS versions the NFS listener serves (`--nfs-versions`).
///
/// Both share one TCP listener: the RPC dispatcher routes program 100003
/// by version, and a version not enabled gets PROG_MISMATCH as before.
public struct NFSVersions: Hashable, Sendable, CustomStringConvertible {
    /// NFSv3 with MOUNT and NLM.
    public var v3: Bool
    /// NFSv4.1 (minor versions 0 and 2 are answered MINOR_VERS_MISMATCH).
    public var v41: Bool

    public init(v3: Bool, v41: Bool) {
        self.v3 = v3
        self.v41 = v41
    }

    /// Both: the literal `mount -t nfs localhost:/ /mnt/p2p` negotiates
    /// v4.1, whose locks travel in-band (no rpcbind, statd or NLM race);
    /// NFSv3 stays for `-o vers=3` and libnfs.
    public static let `default` = NFSVersions(v3: true, v41: true)

    /// Parses "3", "4.1" or "3,4.1" (any order, spaces allowed).
    public init(parsing text: String) throws(NFSVersionsError) {
        var versions = NFSVersions(v3: false, v41: false)
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            switch item.trimmingCharacters(in: " ") {
            case "3": versions.v3 = true
            case "4.1": versions.v41 = true
            default: throw NFSVersionsError(text: text, item: String(item))
            }
        }
        self = versions
    }

    public var description: String {
        [self.v3 ? "3" : nil, self.v41 ? "4.1" : nil].compactMap { $0 }.joined(separator: ",")
    }
}

/// A `--nfs-versions` value that names something other than 3 or 4.1.
public struct NFSVersionsError: Error, CustomStringConvertible, Equatable {
    public var text: String
    public var item: String

    public var description: String {
        "--nfs-versions must list 3 and/or 4.1, separated by commas (got '\(self.text)': '\(self.item)' is not a served version)"
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var result = self
        while result.first == character { result = result.dropFirst() }
        while result.last == character { result = result.dropLast() }
        return result
    }
}
