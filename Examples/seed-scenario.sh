#!/usr/bin/env bash
# The seed scenario on one machine, over loopback addresses:
#   A (127.0.0.2) offers movies/KillBill, B (127.0.0.3) offers movies/TheMatrix
#   and knows A, C presents the whole network over NFS on 127.0.0.1:${NFS_PORT}
#   and is told only about A.
# Then it lists and reads through C with the libnfs tools, and with the kernel
# client if this machine has one. Ctrl-C (or the end of the demo) stops all.
#
#   Examples/seed-scenario.sh            # run the demo and exit
#   Examples/seed-scenario.sh --stay     # keep the nodes running until Ctrl-C
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
P2PFS=${P2PFS:-$here/.build/release/p2pfs}
NFS_PORT=${NFS_PORT:-2049}
work=$(mktemp -d /tmp/p2pfs-seed.XXXXXX)
pids=()

[ -x "$P2PFS" ] || { echo "no p2pfs binary at $P2PFS: run 'make build' first" >&2; exit 1; }

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir -p "$work/a/movies" "$work/b/movies"
head -c $((8 << 20)) /dev/urandom > "$work/a/movies/KillBill"
head -c $((4 << 20)) /dev/urandom > "$work/b/movies/TheMatrix"

start() { # name, then daemon flags
    local name=$1; shift
    "$P2PFS" daemon --name "$name" --state-dir "$work/state-$name" --discovery off "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
}

start a --export movies="$work/a/movies" --listen 127.0.0.2:7475
start b --export movies="$work/b/movies" --listen 127.0.0.3:7475 --peer 127.0.0.2:7475
sleep 1
start c --nfs 127.0.0.1:"$NFS_PORT" --peer 127.0.0.2:7475 --portmap off

url="nfs://127.0.0.1/movies?version=3&nfsport=$NFS_PORT&mountport=$NFS_PORT"
for _ in $(seq 1 50); do
    if nfs-ls "$url" 2>/dev/null | grep -q TheMatrix; then break; fi
    sleep 0.2
done

echo "== C's view of /movies (nfs-ls):"
nfs-ls "$url"
echo "== nodes C knows (p2pfs peers):"
"$P2PFS" peers --nfs 127.0.0.1:"$NFS_PORT"
echo "== who holds what (p2pfs ls /movies):"
"$P2PFS" ls /movies --nfs 127.0.0.1:"$NFS_PORT"
echo "== reading KillBill through C and comparing with A's copy:"
nfs-cat "nfs://127.0.0.1/movies/KillBill?version=3&nfsport=$NFS_PORT&mountport=$NFS_PORT" | cmp - "$work/a/movies/KillBill" && echo "identical"
echo "== what A served:"
"$P2PFS" peers --node 127.0.0.2:7475 | sed -n 2p

if grep -qw nfs /proc/filesystems 2>/dev/null && [ "$(id -u)" = 0 ]; then
    mkdir -p "$work/mnt"
    mount -t nfs -o vers=3,proto=tcp,port="$NFS_PORT",mountport="$NFS_PORT",mountproto=tcp,nolock localhost:/ "$work/mnt"
    echo "== mounted at $work/mnt:"; ls -l "$work/mnt/movies"
    umount "$work/mnt"
fi

if [ "${1:-}" = "--stay" ]; then
    echo "nodes running; logs in $work/*.log; Ctrl-C to stop"
    wait
fi
