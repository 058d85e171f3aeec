import NIOCore
import Namespace
import XDR

/// A position in a directory listing, as READDIR and READDIRPLUS resume it.
///
/// Cookies: 0 is the start, 1 follows ".", 2 follows "..", and any other
/// cookie is the FileID of the child it follows. Children are listed in
/// FileID order and resumed with a search for the next larger FileID, so
/// entries added or removed between two calls neither shift nor repeat the
/// others and a cookie stays valid however the namespace changes. That is
/// why the cookie verifier can be a constant.
struct DirectoryCursor {
    enum Position {
        case dot
        case dotDot
        case child(Int)
    }

    /// One entry at the cursor.
    struct Entry {
        var name: String
        var node: NamespaceNode
        /// The cookie that resumes after this entry.
        var cookie: UInt64
    }

    static let dotCookie: UInt64 = 1
    static let dotDotCookie: UInt64 = 2

    let snapshot: NamespaceSnapshot
    let directory: NamespaceNode
    let children: NamespaceSnapshot.Children
    private(set) var position: Position

    init(snapshot: NamespaceSnapshot, directory: NamespaceNode, after cookie: UInt64) {
        self.snapshot = snapshot
        self.directory = directory
        self.children = snapshot.children(of: directory)
        switch cookie {
        case 0: self.position = .dot
        case Self.dotCookie: self.position = .dotDot
        case Self.dotDotCookie: self.position = .child(self.children.startIndex)
        default: self.position = .child(snapshot.children(of: directory, after: FileID(rawValue: cookie)).startIndex)
        }
    }

    /// The entry at the cursor, or nil past the last one.
    var current: Entry? {
        switch self.position {
        case .dot:
            return Entry(name: ".", node: self.directory, cookie: Self.dotCookie)
        case .dotDot:
            return Entry(name: "..", node: self.snapshot.parent(of: self.directory), cookie: Self.dotDotCookie)
        case .child(let index):
            guard index < self.children.endIndex else { return nil }
            let node = self.children[index]
            return Entry(name: node.name, node: node, cookie: node.fileID.rawValue)
        }
    }

    mutating func advance() {
        switch self.position {
        case .dot: self.position = .dotDot
        case .dotDot: self.position = .child(self.children.startIndex)
        case .child(let index): self.position = .child(min(index + 1, self.children.endIndex))
        }
    }

    var isAtEnd: Bool { self.current == nil }
}

/// `cookieverf3`: p2pfs's cookies never go stale (see `DirectoryCursor`),
/// so the verifier is one fixed value ("p2pfsdir").
public enum CookieVerifier3 {
    public static let current: UInt64 = 0x7032_7066_7364_6972

    /// Whether a READDIR/READDIRPLUS may resume from `cookie` with `verifier`.
    /// A first request (cookie 0) carries no meaningful verifier, and a zero
    /// verifier is what clients send when they have none.
    static func check(cookie: UInt64, verifier: UInt64) throws(NFS3Status) {
        guard cookie == 0 || verifier == 0 || verifier == Self.current else {
            throw .badCookie
        }
    }
}
