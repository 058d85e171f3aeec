extension MountProgram {
    /// Forgets every mount of the client (sent by clients as they boot).
    func umntall(client: String) -> NULL3Result {
        self.mounts.withLock { $0.removeAll(client: client) }
        return NULL3Result()
    }
}
