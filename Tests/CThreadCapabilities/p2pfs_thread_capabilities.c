#include "p2pfs_thread_capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

int p2pfs_test_clear_thread_capabilities(void) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) data[i].effective = 0;
    /* The raw call, not a library's: it changes this thread only. */
    return (int)syscall(SYS_capset, &header, data);
}
