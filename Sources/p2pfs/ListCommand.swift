import ArgumentParser
import Namespace
import P2PFSDaemon
import PeerProtocol

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List a path of the merged namespace, with the node(s) holding each file.",
        discussion: "Asks the daemon's NFS address (--nfs, the default) or its peer address (--node)."
    )

    @Argument(help: ArgumentHelp("A path in the namespace; \\xHH is the byte HH (as ls shows names that are not UTF-8), \\\\ a backslash.", valueName: "PATH"))
    var path: String = "/"

    @OptionGroup var target: ControlOptions

    func run() async throws {
        let path = NameBytes.parseDisplayed(self.path)
        let result = try await self.target.ask { try await $0.list(path) }
        switch result {
        case .failed(let status):
            let noNamespace = FailureMessage(
                message: "\(self.target.description) presents no namespace (a node that only offers files has none; ask one with --nfs)")
            let reason: String
            switch status {
            case .noEntry where path == "/":
                // The root always exists in a namespace: there is none.
                throw noNamespace
            case .noEntry, .stale:
                // Missing here, or no namespace at all: the root tells which.
                if case .failed(.noEntry)? = try? await self.target.ask({ try await $0.list(NameBytes.parseDisplayed("/")) }) {
                    throw noNamespace
                }
                reason = "no such file or directory"
            case .invalid: reason = "not a directory"
            default: reason = "\(status)"
            }
            throw FailureMessage(message: "\(self.path): \(reason)")
        case .entries(let entries):
            let rows = entries.map { entry in
                [
                    entry.kind == .directory ? "d" : (entry.kind == .symlink ? "l" : "-"),
                    entry.kind == .directory ? "-" : String(entry.size),
                    // Bytes that are not UTF-8 show as \xHH (`NameBytes.display`).
                    NameBytes.display(entry.name) + (entry.kind == .directory ? "/" : ""),
                    entry.holders.joined(separator: ","),
                ]
            }
            print(Table.render(header: ["T", "SIZE", "NAME", "HELD BY"], rows: rows))
        }
    }
}
