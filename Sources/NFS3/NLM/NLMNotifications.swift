import ONCRPC

/// FREE_ALL and the Linux-private SM_NOTIFY: a client host restarted, so
/// whatever it held is gone with the processes that held it.
extension NLMProgram {
    /// FREE_ALL: drops every lock, blocked request and share reservation of
    /// `args.name` (a `caller_name`), and grants what waited on them.
    func freeAll(_ args: NLM4Notify, context: RPCCallContext) -> NLMVoid {
        self.release(callerName: args.name, context: context)
        return NLMVoid()
    }

    /// Procedure 16: rpc.statd on this machine reporting that a monitored
    /// host restarted (Linux lock managers register for that with SM_MON).
    /// Taken only from the loopback address, where statd is.
    func statusMonitorNotify(_ args: NLM4StatusMonitorNotify, context: RPCCallContext) -> NLMVoid {
        guard let address = context.remoteAddress?.ipAddress, address.hasPrefix("127.") || address == "::1" else {
            context.logger.debug("NLM: ignoring SM_NOTIFY from \(context.remoteAddress.map { "\($0)" } ?? "nowhere")")
            return NLMVoid()
        }
        self.release(callerName: args.notify.name, context: context)
        return NLMVoid()
    }

    private func release(callerName: String, context: RPCCallContext) {
        let (before, after, granted) = self.table.withLock { table in
            let before = table.totalLocks + table.totalWaiters + table.totalShares
            let granted = table.freeAll(callerName: callerName)
            return (before, table.totalLocks + table.totalWaiters + table.totalShares, granted)
        }
        context.logger.info(
            "NLM: released everything a client held", metadata: ["client": "\(callerName)", "entries": "\(before - after)"]
        )
        self.notifyGranted(granted, context: context)
    }
}
