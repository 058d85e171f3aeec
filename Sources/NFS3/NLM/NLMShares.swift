/// SHARE and UNSHARE: DOS-style share reservations (PC-NFS clients open
/// files this way; Linux never sends them).
extension NLMProgram {
    /// Reservations to read are granted unless another owner denies reading;
    /// reservations to write are refused with NLM4_ROFS, the namespace being
    /// read-only.
    func share(_ args: NLM4ShareArgs) -> NLM4ShareResult {
        let inGrace = self.isInGracePeriod
        guard !inGrace || args.reclaim else { return NLM4ShareResult(cookie: args.cookie, status: .deniedGracePeriod) }
        let file: NFS3FileHandle
        do {
            file = try self.resolve(args.share.fileHandle, allowUnknown: inGrace)
        } catch {
            return NLM4ShareResult(cookie: args.cookie, status: error)
        }
        guard args.share.access.rawValue & NLM4ShareAccess.write.rawValue == 0 else {
            return NLM4ShareResult(cookie: args.cookie, status: .readOnlyFileSystem)
        }
        let reservation = NLMShareReservation(
            callerName: args.share.callerName, ownerHandle: args.share.ownerHandle, mode: args.share.mode, access: args.share.access
        )
        let granted = self.table.withLock { $0.share(file: file, reservation) }
        return NLM4ShareResult(cookie: args.cookie, status: granted ? .granted : .denied)
    }

    /// Removes the owner's reservation; accepted in the grace period, since it only frees.
    func unshare(_ args: NLM4ShareArgs) -> NLM4ShareResult {
        let file: NFS3FileHandle
        do {
            file = try self.resolve(args.share.fileHandle, allowUnknown: true)
        } catch {
            return NLM4ShareResult(cookie: args.cookie, status: error)
        }
        self.table.withLock { $0.unshare(file: file, callerName: args.share.callerName, ownerHandle: args.share.ownerHandle) }
        return NLM4ShareResult(cookie: args.cookie, status: .granted)
    }
}
