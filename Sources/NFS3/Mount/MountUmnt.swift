import Namespace

extension MountProgram {
    /// Forgets one mount of the client. Returns nothing, whatever happened.
    func umnt(_ path: MountPath, client: String) -> NULL3Result {
        let directory = path.normalized
        self.mounts.withLock { $0.remove(MountList.Entry(client: client, directory: ExactPath(directory))) }
        return NULL3Result()
    }
}
