import ArgumentParser
import Namespace
import P2PFSDaemon
import PeerProtocol

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List a path of the merged namespace, with the node(s) holding each file."
    )

    @Argument(help: ArgumentHelp("A path in the namespace; \\xHH is the byte HH (as ls shows names that are not UTF-8), \\\\ a backslash.", valueName: "PATH"))
    var path: String = "/"

    @Option(help: ArgumentHelp("The daemon's NFS address.", valueName: "HOST:PORT"))
    var nfs: String?

    func run() async throws {
        let address = try ControlTarget.resolve(nfs: self.nfs, node: nil)
        let path = NameBytes.parseDisplayed(self.path)
        let result = try await ControlTarget.ask(address) { try await $0.list(path) }
        switch result {
        case .failed(let status):
            let reason: String
            switch status {
            case .noEntry, .stale: reason = "no such file or directory"
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
