#!/usr/bin/env bash
# Installs the Debian package on a clean Debian 12 with no Swift, booted
# under qemu, and runs it as an operator would (guest-checks.sh): apt-get
# install offline, two nodes from config files, systemctl enable --now, the
# fstab mount, reload, restart, stop. See Tests/package/README.md.
#
#   P2PFS_DEB               the package (default: newest .build/deb/p2pfs_*.deb; `make deb`)
#   P2PFS_PACKAGE_CACHE     where the Debian root is cached (default: $REPO/.cache/package-vm)
#   P2PFS_KERNEL_CACHE      the kernel test's cache (default: $REPO/.cache/kernel)
#   P2PFS_PACKAGE_TIMEOUT   wall-clock limit for the VM, seconds (default: 900)
#   P2PFS_DEBIAN_MIRROR     for debootstrap (default: http://deb.debian.org/debian)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/Tests/package
WORK=$HERE/work
CACHE=${P2PFS_PACKAGE_CACHE:-$REPO/.cache/package-vm}
KCACHE=${P2PFS_KERNEL_CACHE:-$REPO/.cache/kernel}
TIMEOUT=${P2PFS_PACKAGE_TIMEOUT:-900}
MIRROR=${P2PFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { echo "package-vm: $*" >&2; }
die() { log "error: $*"; exit 1; }

DEB=${P2PFS_DEB:-$(ls -t "$REPO"/.build/deb/p2pfs_*.deb 2>/dev/null | head -n 1 || true)}
[[ -n $DEB && -f $DEB ]] || die "no package: run 'make deb' first (or set P2PFS_DEB)"
for tool in qemu-system-x86_64 debootstrap cpio gzip depmod modprobe timeout sha256sum; do
    command -v "$tool" >/dev/null || die "host tool '$tool' missing (run 'make setup')"
done

# 1. The Debian root: what the package needs and what the checks use, no
# Swift. Cached per package list: a changed list builds a new root.
PACKAGES="systemd,systemd-sysv,nfs-common,netbase,libtirpc3,kmod,procps,util-linux"
KEY=$(printf 'bookworm %s\n' "$PACKAGES" | sha256sum | cut -c1-16)
BASE=$CACHE/root-$KEY
if [[ ! -e $BASE/.complete ]]; then
    log "building the Debian 12 root with debootstrap ($PACKAGES) in $BASE"
    rm -rf "$BASE.tmp"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$BASE.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || die "debootstrap failed, see $CACHE/debootstrap.log"
    rm -rf "$BASE.tmp"/var/cache/apt/archives/*.deb
    mv "$BASE.tmp" "$BASE"
    touch "$BASE/.complete"
fi

# 2. The kernel the kernel test boots (its cache; its fetch scenario fills it).
KPKG=$(cd "$KCACHE" 2>/dev/null && ls -d linux-image-*/.complete 2>/dev/null | sed 's,/.complete$,,' | sort -V | tail -n 1 || true)
if [[ -z $KPKG ]]; then
    log "no cached kernel: fetching it with the kernel test's fetch scenario"
    P2PFS_SCENARIO=fetch P2PFS_KERNEL_CACHE=$KCACHE "$REPO/Tests/kernel/run.sh"
    KPKG=$(cd "$KCACHE" && ls -d linux-image-*/.complete | sed 's,/.complete$,,' | sort -V | tail -n 1)
fi
KROOT=$KCACHE/$KPKG/root
KVER=$(basename "$(ls -d "$KROOT"/lib/modules/*/kernel | head -n 1 | xargs dirname)")
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
log "kernel $KVER, root $BASE, package $(basename "$DEB")"

# 3. The guest: the cached root, the NFS client modules, the package, files
# to export, and the checks as a unit that runs once the system is up.
rm -rf "$WORK"
mkdir -p "$WORK"
ROOT=$WORK/root
cp -a "$BASE" "$ROOT"
rm -f "$ROOT/.complete"
for module in $(modprobe -d "$KROOT" -S "$KVER" --show-depends -a nfs nfsv3 nfsv4 | awk '$1 == "insmod" { print $2 }'); do
    relative=${module#"$KROOT"/}
    mkdir -p "$ROOT/$(dirname "$relative")"
    cp "$module" "$ROOT/$relative"
done
cp "$KROOT/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$ROOT" "$KVER"
cp "$DEB" "$ROOT/root/p2pfs.deb"
mkdir -p "$ROOT/srv/movies" "$ROOT/srv/music"
head -c $((8 << 20)) /dev/urandom > "$ROOT/srv/movies/KillBill"
echo "la la la" > "$ROOT/srv/music/Song"
install -m 0755 "$HERE/guest-checks.sh" "$ROOT/usr/local/sbin/p2pfs-vm-checks"
install -m 0755 "$HERE/preinit" "$ROOT/sbin/p2pfs-preinit"
cat > "$ROOT/etc/systemd/system/p2pfs-vm-checks.service" <<'UNIT'
[Unit]
Description=p2pfs package checks
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c '/usr/local/sbin/p2pfs-vm-checks > /dev/ttyS0 2>&1; systemctl poweroff --force'
[Install]
WantedBy=default.target
UNIT
ln -sf /etc/systemd/system/p2pfs-vm-checks.service "$ROOT/etc/systemd/system/multi-user.target.wants/p2pfs-vm-checks.service"
ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$ROOT/etc/systemd/system/getty@tty1.service"
echo vm > "$ROOT/etc/hostname"
printf '127.0.0.1 localhost vm\n::1 localhost ip6-localhost\n' > "$ROOT/etc/hosts"
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$WORK/root.cpio.gz"

# 4. Boot; the checks print on the serial console and power off.
log "booting (qemu TCG, limit ${TIMEOUT}s)"
CONSOLE=$WORK/console.log
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -nic none -m 4096 -smp 2 -nographic -no-reboot \
    -kernel "$VMLINUZ" -initrd "$WORK/root.cpio.gz" \
    -append "console=ttyS0 rdinit=/sbin/p2pfs-preinit panic=-1 systemd.show_status=0 quiet" \
    </dev/null >"$CONSOLE" 2>&1 || true
tr -d '\r' < "$CONSOLE" | grep -a -E '^(P2PFS-|    )' || true
if tr -d '\r' < "$CONSOLE" | grep -aq '^P2PFS-VERDICT PASS'; then
    log "PASS"
    rm -rf "$ROOT"
    exit 0
fi
tr -d '\r' < "$CONSOLE" | grep -aq '^P2PFS-VERDICT' || log "no verdict: the VM did not finish (console: $CONSOLE)"
log "FAIL"
exit 1
