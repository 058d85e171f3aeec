import RPCBind

/// What the periodic rpcbind check does about a registration it finds not
/// pointing at this node's NFS port.
///
/// Taken over (another port): put back at once. Missing: maybe the
/// kernel's lock manager, started by a mount, between the unset and the
/// set of its own entries for program 100021; ours put back in that gap
/// makes the kernel's set fail (EACCES, `lockd_up: makesock failed`) and
/// the mount with it. So a missing entry is put back only once it has been
/// missing for `missingChecks` checks in a row (rpcbind restarted without
/// its registrations, or an umount whose lock manager took ours along). A
/// mount's own takeover is repaired at its FSINFO, after the kernel's sets.
struct RegistrationGuard: Sendable {
    static let missingChecks = 3

    private var missing: [PortmapRegistration: Int] = [:]

    /// Whether to register `wanted` again, rpcbind now answering `port` for it.
    mutating func shouldRestore(_ wanted: PortmapRegistration, foundPort port: UInt16) -> Bool {
        guard port == 0 else {
            self.missing[wanted] = nil
            return port != wanted.port
        }
        let seen = (self.missing[wanted] ?? 0) + 1
        guard seen >= Self.missingChecks else {
            self.missing[wanted] = seen
            return false
        }
        self.missing[wanted] = nil
        return true
    }
}
