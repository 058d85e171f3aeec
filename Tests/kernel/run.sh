#!/usr/bin/env bash
# Kernel-level end-to-end test for p2pfs.
#
# Boots a stock Debian kernel under qemu (TCG, no network device) with an
# initramfs that holds the real Linux NFS client stack (kernel modules,
# mount.nfs, rpcbind, rpc.statd) plus the p2pfs binary, and runs
# Tests/kernel/guest-checks.sh inside the guest: p2pfs daemons on the guest's
# loopback, `mount -t nfs localhost:/ /mnt/p2p`, then ordinary programs on the
# mount. The guest reports one line per check on the serial console:
#
#   P2PFS-CHECK PASS <name>
#   P2PFS-CHECK FAIL <name>: <detail>
#   P2PFS-CHECK SKIP <name>: <reason>
#   P2PFS-VERDICT PASS|FAIL
#
# This script exits 0 only when the verdict is PASS and no check failed.
#
# Environment:
#   P2PFS_BIN              p2pfs binary to test (default: $REPO/.build/release/p2pfs)
#   P2PFS_SCENARIO         single | peers | embedded | bare | boot | fetch   (default: peers)
#                          `boot` only checks the harness itself (kernel, modules,
#                          rpcbind, statd) and does not need a p2pfs binary;
#                          `fetch` only fills the kernel cache and boots nothing.
#   P2PFS_KERNEL_WORK      where the guest's tree, initramfs and console log go
#                          (default: Tests/kernel/work); runs at the same time
#                          need one each (`make test-kernel` runs two at once).
#   P2PFS_MOUNT_VERS       4.1 (default): the literal `mount -t nfs localhost:/ /mnt/p2p`,
#                          which must negotiate NFSv4.1; 3: `mount -t nfs -o vers=3 ...`
#                          with the NFSv3 check list (NLM through rpcbind).
#   P2PFS_KERNEL_CACHE     where the kernel package is cached (default: $REPO/.cache/kernel)
#   P2PFS_KERNEL_PKG       kernel package to use (default: what linux-image-amd64 depends on)
#   P2PFS_KERNEL_SUITE     a Debian suite (e.g. trixie) to take the kernel from instead
#                          of the host's apt sources: its linux-image-amd64, fetched from
#                          deb.debian.org and cached apart ($P2PFS_KERNEL_CACHE/SUITE).
#                          Clients change between kernels (Debian 13's 6.12 sends an
#                          NFSv3 CREATE for open(O_CREAT), 6.1 does not); the daemons
#                          in the guest run on it too (cachestat, so sendfile, needs 6.5).
#   P2PFS_KERNEL_TIMEOUT   wall-clock limit for the qemu run, seconds (default: 480;
#                          a bound for a hung guest, generous for TCG on busy cores)
#   P2PFS_KERNEL_FORCE_FAIL=1  make the guest report one failing check (tests the harness)
#   CI=true                under CI a missing prerequisite (host tool, kernel
#                          package, host file for the guest) fails the test
#                          (exit 2); elsewhere the test is skipped (exit 0)
#                          with a message naming what is missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(realpath -m "${P2PFS_KERNEL_WORK:-$HERE/work}")
ROOT=$WORK/initramfs                 # staging tree of the guest's root filesystem
INITRD=$WORK/initramfs.cpio.gz
CONSOLE_LOG=$WORK/console.log
CACHE=${P2PFS_KERNEL_CACHE:-$REPO/.cache/kernel}
SUITE=${P2PFS_KERNEL_SUITE:-}
[[ -z $SUITE ]] || CACHE=$CACHE/$SUITE
SCENARIO=${P2PFS_SCENARIO:-peers}
MOUNT_VERS=${P2PFS_MOUNT_VERS:-4.1}
P2PFS_BIN=${P2PFS_BIN:-$REPO/.build/release/p2pfs}
TIMEOUT=${P2PFS_KERNEL_TIMEOUT:-480}
FORCE_FAIL=${P2PFS_KERNEL_FORCE_FAIL:-0}

# Kernel modules for an NFSv4.1 and NFSv3-over-TCP client with NLM locking,
# as a stock Debian client has them: `mount -t nfs` without options tries
# NFSv4.2, then 4.1 (which p2pfs serves). modprobe resolves their
# dependencies (fscache, netfs, ...) from modules.dep.
MODULES=(sunrpc grace lockd nfs_acl nfs nfsv3 nfsv4)

log()  { printf '[kernel-test] %s\n' "$*"; }
die()  { printf '[kernel-test] ERROR: %s\n' "$*" >&2; exit 2; }
# missing WHAT: a prerequisite of the test itself is absent. Under CI that
# fails the run loudly; elsewhere the test is skipped, saying what to install.
missing() {
  if [[ ${CI:-} == true ]]; then
    printf '[kernel-test] ERROR: CI=true and a prerequisite is missing, so the kernel test FAILS (it is never skipped in CI): %s\n' "$*" >&2
    exit 2
  fi
  printf '[kernel-test] SKIPPED (scenario %s): prerequisite missing: %s\n' "$SCENARIO" "$*" >&2
  exit 0
}

case $SCENARIO in
  single|peers|embedded|bare|boot|fetch) ;;
  *) die "P2PFS_SCENARIO must be single, peers, embedded, bare, boot or fetch (got '$SCENARIO')" ;;
esac
case $MOUNT_VERS in
  4.1|3) ;;
  *) die "P2PFS_MOUNT_VERS must be 4.1 or 3 (got '$MOUNT_VERS')" ;;
esac
if [[ $SCENARIO == bare && $MOUNT_VERS == 3 ]]; then
  die "scenario bare has no rpcbind, which an NFSv3 mount with locks needs; use P2PFS_MOUNT_VERS=4.1"
fi
if ! [[ $TIMEOUT =~ ^[0-9]+$ ]] || (( TIMEOUT < 120 )); then
  die "P2PFS_KERNEL_TIMEOUT must be a number of seconds >= 120"
fi

if [[ $SCENARIO != boot && $SCENARIO != fetch && ! -x $P2PFS_BIN ]]; then
  die "p2pfs binary not found or not executable: $P2PFS_BIN
  Run 'make build' first (or set P2PFS_BIN to the binary to test)."
fi

for tool in qemu-system-x86_64 busybox cpio gzip xz zstd apt-get apt-cache dpkg-deb depmod modprobe ldd ldconfig timeout gcc flock strip; do
  command -v "$tool" >/dev/null || missing "host tool '$tool' (run 'make setup' to install the packages this test needs)"
done
busybox --list-full >/dev/null 2>&1 || missing "busybox does not list its applets; install busybox-static"

mkdir -p "$WORK" "$CACHE"

# ---------------------------------------------------------------------------
# 1. Kernel: download once with apt-get download, extract, cache.
# ---------------------------------------------------------------------------
# A cache entry is $CACHE/<package>/root (the extracted package, with
# modules.dep generated by depmod) plus a .complete stamp. Any complete entry
# is reused without touching the network; delete the cache to pick up a newer
# kernel.

resolve_kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# suite_index FIELD PACKAGE: a field of PACKAGE in $SUITE's package index
# (python3 fetches it: apt's sources know only the host's suite).
# Kept for a day (it is read only when a kernel is not cached yet; each
# caller runs in a subshell, so a variable would not remember it).
suite_index() {
  local index=$CACHE/Packages
  if [[ -z $(find "$index" -mmin -1440 2>/dev/null) ]]; then
    python3 - "$SUITE" "$index" <<'PY' || missing "the $SUITE package index from deb.debian.org"
import lzma, os, sys, urllib.request
with urllib.request.urlopen(f"http://deb.debian.org/debian/dists/{sys.argv[1]}/main/binary-amd64/Packages.xz", timeout=120) as r:
    data = lzma.decompress(r.read())
with open(sys.argv[2] + ".tmp", "wb") as f:
    f.write(data)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PY
  fi
  awk -v want="Package: $2" -v field="$1:" '$0 == want { p = 1; next } p && /^$/ { exit } p && $1 == field { print $2; exit }' "$index"
}

resolve_suite_kernel_pkg() {
  suite_index Depends linux-image-amd64 | sed 's/,$//'
}

# download_deb PACKAGE DIR: PACKAGE's .deb into DIR, from apt or from $SUITE.
download_deb() {
  local pkg=$1 dir=$2
  if [[ -n $SUITE ]]; then
    local path
    path=$(suite_index Filename "$pkg")
    [[ -n $path ]] || missing "the kernel package: $pkg is not in $SUITE's index"
    python3 - "http://deb.debian.org/debian/$path" "$dir/${path##*/}" <<'PY' || missing "the kernel package: downloading $pkg from deb.debian.org failed"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=300) as r, open(sys.argv[2], "wb") as f:
    while chunk := r.read(1 << 20):
        f.write(chunk)
PY
    return 0
  fi
  # Downloading as root into a directory the _apt user cannot write makes apt
  # warn; running the download itself as root is harmless here.
  local sandbox=()
  [[ $(id -u) == 0 ]] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$dir" && apt-get "${sandbox[@]}" -q download "$pkg") \
    || missing "the kernel package: apt-get download $pkg failed"
}

fetch_kernel() {
  local pkg=$1 dir=$CACHE/$1
  [[ -e $dir/.complete ]] && return 0
  log "downloading kernel package $pkg into $dir${SUITE:+ (from $SUITE)}"
  rm -rf "$dir"; mkdir -p "$dir/deb"
  download_deb "$pkg" "$dir/deb"
  local deb
  deb=$(ls "$dir"/deb/*.deb)
  dpkg-deb -x "$deb" "$dir/root.tmp"
  # Newer packages keep modules in usr/lib only (merged /usr); depmod -b
  # and modprobe -d look in lib/modules.
  if [[ -d $dir/root.tmp/usr/lib/modules && ! -e $dir/root.tmp/lib ]]; then
    ln -s usr/lib "$dir/root.tmp/lib"
  fi
  local kver
  kver=$(kernel_version "$dir/root.tmp") || die "no lib/modules/<version> in $deb"
  # The package ships no modules.dep (postinst normally runs depmod).
  depmod -b "$dir/root.tmp" "$kver"
  mv "$dir/root.tmp" "$dir/root"
  rm -rf "$dir/deb"          # the extracted tree is what later runs reuse
  touch "$dir/.complete"
}

kernel_version() {   # $1 = extracted package root; prints the module version
  local d
  for d in "$1"/lib/modules/* "$1"/usr/lib/modules/*; do
    [[ -d $d/kernel ]] && { basename "$d"; return 0; }
  done
  return 1
}

# One run at a time chooses and fills the cache: runs started together
# (`make test-kernel`) would otherwise download into the same directory.
exec {cache_lock}>"$CACHE/.lock"
flock "$cache_lock"
if [[ -n ${P2PFS_KERNEL_PKG:-} ]]; then
  KPKG=$P2PFS_KERNEL_PKG
else
  # Newest complete cache entry, if any.
  KPKG=$(cd "$CACHE" && ls -d linux-image-*/.complete 2>/dev/null | sed 's,/.complete$,,' | sort -V | tail -n 1 || true)
  if [[ -z $KPKG && -n $SUITE ]]; then
    KPKG=$(resolve_suite_kernel_pkg)
    [[ -n $KPKG ]] || missing "the kernel package: $SUITE's index names no package linux-image-amd64 depends on"
  elif [[ -z $KPKG ]]; then
    KPKG=$(resolve_kernel_pkg)
    if [[ -z $KPKG ]]; then
      log "apt lists do not know linux-image-amd64 yet; running apt-get update"
      apt-get -q update >/dev/null || missing "the kernel package: apt-get update failed"
      KPKG=$(resolve_kernel_pkg)
    fi
    [[ -n $KPKG ]] || missing "the kernel package: apt cannot resolve the package that linux-image-amd64 depends on"
  fi
fi
fetch_kernel "$KPKG"
flock -u "$cache_lock"
KROOT=$CACHE/$KPKG/root
KVER=$(kernel_version "$KROOT") || die "broken kernel cache at $KROOT; delete it and rerun"
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
[[ -f $VMLINUZ ]] || die "no kernel image at $VMLINUZ; delete $CACHE/$KPKG and rerun"
log "kernel: $KPKG ($KVER), cached in $CACHE/$KPKG"
[[ $SCENARIO == fetch ]] && exit 0

# ---------------------------------------------------------------------------
# 2. Initramfs
# ---------------------------------------------------------------------------
t_build=$SECONDS
rm -rf "$ROOT"
mkdir -p "$ROOT"/usr/{bin,sbin,lib,lib64} "$ROOT"/usr/local/{bin,sbin} \
         "$ROOT"/{etc,proc,sys,dev,run,tmp,mnt/p2p,srv,root} "$ROOT"/var/{lib/nfs,log,tmp}
# Merged /usr, like Debian 12: /bin, /sbin, /lib, /lib64 are links into /usr,
# so every path that ldd or a program names resolves in the guest.
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
ln -s ../run "$ROOT/var/run"
ln -s ../run/lock "$ROOT/var/lock"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"

# install_file SRC [DEST]: copy SRC (following symlinks) to DEST inside the guest.
install_file() {
  local src=$1 dest=${2:-$1}
  [[ -e $ROOT$dest ]] && return 0
  mkdir -p "$(dirname "$ROOT$dest")"
  cp -L --preserve=mode "$src" "$ROOT$dest"
}

# install_bin SRC [DEST]: copy an executable and every shared library that ldd
# reports, each at the path the dynamic loader will look for it.
LIBDIRS=()
install_bin() {
  local src=$1 dest=${2:-$1} line lib
  [[ -e $src ]] || missing "host file $src for the guest (is its package installed? try 'make setup')"
  install_file "$src" "$dest"
  local out
  if ! out=$(ldd "$src" 2>&1); then
    return 0   # static binary or script: nothing else to copy
  fi
  if grep -q 'not found' <<<"$out"; then
    missing "ldd $src: missing libraries:
$(grep 'not found' <<<"$out")"
  fi
  while read -r line; do
    case $line in
      *"=> /"*) lib=$(awk '{print $3}' <<<"$line") ;;
      /*)       lib=$(awk '{print $1}' <<<"$line") ;;
      *)        continue ;;    # linux-vdso.so.1 and the like
    esac
    install_file "$lib"
    LIBDIRS+=("$(dirname "$lib")")
  done <<<"$out"
}

# Real user-space tools, as a Debian user has them. mount/umount are
# util-linux (busybox mount has its own NFS code and would bypass mount.nfs);
# the file tools are GNU coreutils/findutils/tar/diffutils.
for p in mount umount flock \
         ls cp cat md5sum stat du dd head tail touch mkdir rm ln mv sort wc \
         date timeout sync readlink tr cut uniq tee env sleep \
         tar find xargs diff cmp getent; do
  command -v "$p" >/dev/null || missing "host program '$p' for the guest (try 'make setup')"
  install_bin "$(command -v "$p")"
done
# NFS client user space (nfs-common) and rpcbind, at the paths the kernel and
# mount(8) expect: mount -t nfs execs /sbin/mount.nfs; rpc.statd execs
# /sbin/sm-notify; mount.nfs runs /usr/sbin/start-statd if statd is missing.
install_bin /usr/sbin/mount.nfs
ln -s mount.nfs "$ROOT/usr/sbin/umount.nfs"
ln -s mount.nfs "$ROOT/usr/sbin/mount.nfs4"
ln -s mount.nfs "$ROOT/usr/sbin/umount.nfs4"
install_bin /usr/sbin/rpc.statd
install_bin /usr/sbin/sm-notify
install_file /usr/sbin/start-statd
install_bin /usr/sbin/rpcbind
command -v rpcinfo >/dev/null || missing "host program 'rpcinfo' for the guest (package rpcbind)"
install_bin "$(command -v rpcinfo)" /usr/sbin/rpcinfo
# kmod, so modprobe works the same way as on Debian (and for the kernel's
# request_module, which runs /sbin/modprobe).
command -v kmod >/dev/null || missing "host program 'kmod' for the guest (package kmod)"
install_bin "$(command -v kmod)" /usr/bin/kmod
for p in modprobe insmod rmmod lsmod depmod modinfo; do ln -s ../bin/kmod "$ROOT/usr/sbin/$p"; done
# glibc loads its NSS "files" backend with dlopen, which ldd cannot see.
if [[ -e /lib/x86_64-linux-gnu/libnss_files.so.2 ]]; then
  install_file /lib/x86_64-linux-gnu/libnss_files.so.2
fi

# busybox provides everything else (sh, ip, modprobe fallback, poweroff, ...).
# Real tools copied above win: an applet link is made only where no program
# of that name exists in /usr/bin or /usr/sbin.
install_file "$(command -v busybox)" /usr/bin/busybox
while read -r applet; do
  [[ $applet == */* ]] || continue
  name=${applet##*/}
  case $applet in
    bin/*|usr/bin/*)   dir=usr/bin ;;
    sbin/*|usr/sbin/*) dir=usr/sbin ;;
    *) continue ;;
  esac
  [[ -e $ROOT/usr/bin/$name || -e $ROOT/usr/sbin/$name || -L $ROOT/usr/bin/$name || -L $ROOT/usr/sbin/$name ]] && continue
  ln -s /usr/bin/busybox "$ROOT/$dir/$name"
done < <(busybox --list-full)
[[ -e $ROOT/usr/bin/sh ]] || die "busybox has no sh applet"

# Debian's busybox sh is built to run its own applets in preference to $PATH
# (FEATURE_SH_STANDALONE): `ls` in a script would be busybox ls although GNU
# ls is /usr/bin/ls, and `mount -t nfs` would use busybox's built-in NFS code
# instead of mount.nfs. The guest scripts source this file, which routes every
# such name to the real program.
mkdir -p "$ROOT/usr/local/lib/p2pfs-test"
{
  echo "# Generated by Tests/kernel/run.sh: real programs that shadow busybox applets."
  while read -r name; do
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    for d in usr/bin usr/sbin; do
      f=$ROOT/$d/$name
      [[ -e $f || -L $f ]] || continue
      [[ -L $f && $(readlink "$f") == /usr/bin/busybox ]] && break
      echo "$name() { /$d/$name \"\$@\"; }"
      break
    done
  done < <(busybox --list)
} > "$ROOT/usr/local/lib/p2pfs-test/real-tools.sh"

# p2pfs-locktool: fcntl byte-range and flock locks for the checks (no
# Debian program takes an fcntl lock on a range). Static: nothing to copy.
gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/p2pfs-locktool" "$HERE/locktool.c" \
  || missing "a static build of Tests/kernel/locktool.c with gcc -static (packages gcc and libc6-dev)"
install -m 0755 "$WORK/p2pfs-locktool" "$ROOT/usr/local/bin/p2pfs-locktool"

# p2pfs itself (and its libraries: the Swift runtime under /opt/swift is
# copied to the same absolute path, which the binary's RUNPATH names).
# Without its debug information (symbols stay, for backtraces): 27 MB
# instead of 79, less for the initramfs to compress and the guest to unpack.
if [[ $SCENARIO != boot ]]; then
  install_bin "$(readlink -f "$P2PFS_BIN")" /usr/local/bin/p2pfs
  strip --strip-debug "$ROOT/usr/local/bin/p2pfs"
fi

# Loader cache for every library directory we populated.
printf '%s\n' "${LIBDIRS[@]}" /usr/local/lib | sort -u > "$ROOT/etc/ld.so.conf"
ldconfig -r "$ROOT" 2>/dev/null || ldconfig -r "$ROOT"

# Kernel modules. Debian may ship them compressed (.ko.xz / .ko.zst); they are
# decompressed here so the guest needs no decompression support at all.
mdir=lib/modules/$KVER
mkdir -p "$ROOT/$mdir"
declare -A seen_mod=()
for m in "${MODULES[@]}"; do
  deps=$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m") \
    || die "module $m not found in $KPKG"
  while read -r kind path _; do
    [[ $kind == insmod ]] || continue          # "builtin X" needs nothing
    [[ -n ${seen_mod[$path]:-} ]] && continue
    seen_mod[$path]=1
    rel=${path#"$KROOT"/}; rel=${rel#usr/}; rel=${rel#"$mdir"/}
    dest=$ROOT/$mdir/$rel
    mkdir -p "$(dirname "$dest")"
    case $path in
      *.ko)     cp "$path" "$dest" ;;
      *.ko.xz)  xz -dc "$path"   > "${dest%.xz}" ;;
      *.ko.zst) zstd -qdc "$path" > "${dest%.zst}" ;;
      *.ko.gz)  gzip -dc "$path" > "${dest%.gz}" ;;
      *) die "unexpected module file $path" ;;
    esac
  done <<<"$deps"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  src=$(ls "$KROOT"/lib/modules/"$KVER"/$f "$KROOT"/usr/lib/modules/"$KVER"/$f 2>/dev/null | head -n 1 || true)
  [[ -n $src ]] && cp "$src" "$ROOT/$mdir/"
done
depmod -b "$ROOT" "$KVER"
log "modules: $(cd "$ROOT/$mdir" && find kernel -name '*.ko' -printf '%f ' | sed 's/\.ko//g')"

# /etc. Users are the ones Debian's rpcbind (_rpc) and rpc.statd (statd,
# owner of /var/lib/nfs/sm) drop privileges to.
cat > "$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
_rpc:x:102:65534::/run/rpcbind:/usr/sbin/nologin
statd:x:103:65534::/var/lib/nfs:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$ROOT/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
# Debian's default /etc/hosts, IPv6 line included: what `localhost` resolves
# to in the guest is what it resolves to on a user's machine.
cat > "$ROOT/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	p2pfs-guest
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
EOF
echo p2pfs-guest > "$ROOT/etc/hostname"
cat > "$ROOT/etc/nsswitch.conf" <<'EOF'
passwd:    files
group:     files
shadow:    files
hosts:     files
networks:  files
protocols: files
services:  files
rpc:       files
EOF
[[ -f /etc/netconfig ]] || missing "/etc/netconfig on the host (package libtirpc-common)"
for f in /etc/netconfig /etc/services /etc/protocols /etc/rpc /etc/nfs.conf; do
  if [[ -f $f ]]; then install_file "$f"; else log "warning: host has no $f"; fi
done
mkdir -p "$ROOT/etc/nfs.conf.d"
ln -s /proc/self/mounts "$ROOT/etc/mtab"
: > "$ROOT/etc/fstab"

# Guest scripts.
install -m 0755 "$HERE/init" "$ROOT/init"
install -m 0755 "$HERE/guest-checks.sh" "$ROOT/usr/local/bin/guest-checks.sh"

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) \
  | gzip -1 > "$INITRD"
log "initramfs: $INITRD ($(du -h "$INITRD" | cut -f1), built in $((SECONDS - t_build))s)"

# ---------------------------------------------------------------------------
# 3. Boot
# ---------------------------------------------------------------------------
# The guest gets a budget for its checks that leaves room for booting and
# powering off inside our own timeout, so it normally reports a verdict even
# when a check hangs.
GUEST_BUDGET=$(( TIMEOUT - 60 ))
APPEND="console=ttyS0 panic=-1 quiet p2pfs.scenario=$SCENARIO p2pfs.vers=$MOUNT_VERS p2pfs.budget=$GUEST_BUDGET p2pfs.forcefail=$FORCE_FAIL"

QEMU_PID_FILE=$WORK/qemu.pid
rm -f "$QEMU_PID_FILE" "$CONSOLE_LOG"
runner_pid=""
cleanup() {
  # Always take qemu down, whatever way we leave.
  if [[ -n $runner_pid ]] && kill -0 "$runner_pid" 2>/dev/null; then
    kill "$runner_pid" 2>/dev/null || true
  fi
  if [[ -s $QEMU_PID_FILE ]]; then
    local qpid
    qpid=$(cat "$QEMU_PID_FILE" 2>/dev/null || true)
    if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then
      kill "$qpid" 2>/dev/null || true
      local i
      for ((i = 0; i < 50; i++)); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$qpid" 2>/dev/null || true
    fi
  fi
}
trap cleanup EXIT
trap 'log "interrupted; stopping qemu"; exit 130' INT
trap 'log "terminated; stopping qemu"; exit 143' TERM

log "booting (scenario=$SCENARIO, mount vers=$MOUNT_VERS, TCG, timeout ${TIMEOUT}s); console log: $CONSOLE_LOG"
t_boot=$SECONDS
# Nested KVM is unreliable on these machines: TCG only. No network device:
# the guest uses its own loopback and nothing else.
timeout -k 10 "$TIMEOUT" \
  qemu-system-x86_64 -accel tcg -cpu max -nic none -m 1536 -smp 2 \
    -nographic -no-reboot \
    -kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" \
    -pidfile "$QEMU_PID_FILE" \
    </dev/null >"$CONSOLE_LOG" 2>&1 &
runner_pid=$!

# Show check lines as they arrive; tail stops when qemu (via timeout) exits.
# It runs in the background so that `wait` below, which a signal interrupts,
# is what this shell blocks in: SIGTERM/SIGINT then reach the trap at once.
touch "$CONSOLE_LOG"
{ tail -n +1 -F --pid="$runner_pid" "$CONSOLE_LOG" 2>/dev/null \
    | tr -d '\r' | grep --line-buffered -a -E '^P2PFS-(CHECK|VERDICT|INFO) ' || true; } &
stream_pid=$!

qemu_rc=0
wait "$runner_pid" || qemu_rc=$?
runner_pid=""
wait "$stream_pid" || true
elapsed=$((SECONDS - t_boot))

# ---------------------------------------------------------------------------
# 4. Verdict
# ---------------------------------------------------------------------------
clean=$(tr -d '\r' < "$CONSOLE_LOG")
verdict=$(grep -a -E '^P2PFS-VERDICT (PASS|FAIL)$' <<<"$clean" | tail -n 1 | awk '{print $2}' || true)
n_pass=$(grep -a -c '^P2PFS-CHECK PASS ' <<<"$clean" || true)
n_fail=$(grep -a -c '^P2PFS-CHECK FAIL ' <<<"$clean" || true)
n_skip=$(grep -a -c '^P2PFS-CHECK SKIP ' <<<"$clean" || true)

problem=""
if [[ -z $verdict ]]; then
  if (( qemu_rc == 124 || qemu_rc == 137 )); then
    last=$(grep -a '^---- check ' <<<"$clean" | tail -n 1 | sed 's/^---- check \(.*\) ----$/\1/' || true)
    problem="no verdict: the guest did not finish within ${TIMEOUT}s and qemu was killed; the harness cannot tell whether p2pfs hung or the machine was too slow (last check started: ${last:-none})"
  elif grep -a -q 'Kernel panic' <<<"$clean"; then
    problem="no verdict: the guest kernel panicked ($(grep -a -m1 'Kernel panic' <<<"$clean"))"
  else
    problem="no verdict: qemu exited (status $qemu_rc) before the guest reported one"
  fi
elif [[ $verdict != PASS ]]; then
  problem="guest verdict is FAIL"
elif (( n_fail > 0 )); then
  problem="verdict PASS but $n_fail check(s) failed"
elif (( n_pass == 0 )); then
  problem="verdict PASS but no check passed"
fi

summary="$n_pass passed, $n_fail failed, $n_skip skipped"
if [[ -n $problem ]]; then
  echo
  echo "----- last 80 lines of $CONSOLE_LOG -----"
  tail -n 80 <<<"$clean"
  echo "-----"
  log "FAILED (scenario=$SCENARIO, vers=$MOUNT_VERS, ${elapsed}s in qemu): $problem"
  echo "kernel-test: $summary"
  exit 1
fi
log "PASSED (scenario=$SCENARIO, vers=$MOUNT_VERS, ${elapsed}s in qemu)"
echo "kernel-test: $summary"
exit 0
