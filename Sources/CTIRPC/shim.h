#ifndef P2PFS_CTIRPC_SHIM_H
#define P2PFS_CTIRPC_SHIM_H
// The libtirpc client calls p2pfs uses to register with a system rpcbind.
#include <rpc/rpc.h>
#include <rpc/rpcb_clnt.h>
#include <rpc/pmap_clnt.h>
#include <netconfig.h>
#endif
