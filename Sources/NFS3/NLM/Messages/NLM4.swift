/// The XDR of the Network Lock Manager, version 4 (the Open Group's XNFS
/// specification, chapter 10, with the 64-bit offsets of RFC 1813 appendix II).
///
/// `netobj` values (cookies, owner handles, file handles) are kept as byte
/// arrays: they are small, and a lock outlives the request buffer it came in.
public enum NLM4 {
    /// `LM_MAXSTRLEN`: the longest `caller_name`.
    public static let maximumStringLength = 1024
    /// `LM_MAXNAMELEN`: the longest name in `nlm4_notify`.
    public static let maximumNameLength = 1025
    /// `MAXNETOBJ_SZ`: the longest `netobj`.
    public static let maximumNetobjLength = 1024
    /// `SM_PRIV_SIZE`: the private bytes of the Linux-specific SM_NOTIFY call.
    public static let privateSize = 16
}
