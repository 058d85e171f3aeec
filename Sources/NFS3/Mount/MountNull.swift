extension MountProgram {
    /// MOUNTPROC_NULL: no arguments, no results; clients probe with it.
    /// Its void XDR forms are the same as NFSPROC3_NULL's.
    func null(_ args: NULL3Args) -> NULL3Result {
        NULL3Result()
    }
}
