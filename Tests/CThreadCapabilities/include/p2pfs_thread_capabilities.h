#ifndef P2PFS_THREAD_CAPABILITIES_H
#define P2PFS_THREAD_CAPABILITIES_H

/// Clears the calling thread's effective capabilities (Linux keeps them
/// per thread; the process's other threads keep theirs), so that a test can
/// ask the kernel a question the way a daemon without CAP_FOWNER or
/// CAP_DAC_OVERRIDE would: the packaged unit's root. 0 on success, -1 with
/// errno otherwise.
int p2pfs_test_clear_thread_capabilities(void);

#endif
