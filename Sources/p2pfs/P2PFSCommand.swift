import ArgumentParser

@main
struct P2PFSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p2pfs",
        abstract: "Share files across a LAN as one namespace, mounted with the kernel's own NFS client.",
        discussion: """
            Run `p2pfs daemon` on every machine. A machine that offers files gives --export; a machine that
            wants to see every file on the network gives --nfs (or nothing) and the address of any one node
            with --peer, then mounts: mount -t nfs localhost:/ /mnt/p2p
            """,
        subcommands: [DaemonCommand.self, PeersCommand.self, ListCommand.self]
    )
}
