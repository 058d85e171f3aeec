#!/bin/sh
# make deb: p2pfs_<version>_<arch>.deb, a package that runs on a Debian with
# no Swift: the release binary with the Swift runtime linked in
# (--static-swift-stdlib), its units, its configuration file, a man page and
# completions generated from the argument parser, then lintian.
#
# Environment: SWIFT (swift), OUT (.build/deb), DEB_MAINTAINER (default: the
# author of the commit built), LINTIAN=0 to skip lintian.
set -eu
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
OUT=${OUT:-.build/deb}
MAINTAINER=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>')}

$SWIFT build -c release --product p2pfs --static-swift-stdlib
BIN="$($SWIFT build -c release --show-bin-path)/p2pfs"

# No Swift runtime may be needed on the target: only system libraries.
echo "ldd $BIN:"
ldd "$BIN" | sed 's/^/  /'
if ldd "$BIN" | grep -Ei 'swift|libFoundation|libdispatch|libBlocksRuntime|not found'; then
    echo "error: $BIN needs the libraries above, which a Debian without Swift lacks" >&2
    exit 1
fi

VERSION=$(Packaging/deb/version.sh)
ARCH=$(dpkg --print-architecture)
DATE=$(git log -1 --format=%cD)
DEB="$OUT/p2pfs_${VERSION}_${ARCH}.deb"
ROOT="$OUT/root"
rm -rf "$ROOT" "$OUT/shlibs"
mkdir -p "$ROOT/DEBIAN"

install -D -m 0755 "$BIN" "$ROOT/usr/bin/p2pfs"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$ROOT/usr/bin/p2pfs"
install -D -m 0644 Packaging/systemd/p2pfs.service "$ROOT/lib/systemd/system/p2pfs.service"
install -D -m 0644 Packaging/systemd/p2pfs@.service "$ROOT/lib/systemd/system/p2pfs@.service"
install -D -m 0644 Packaging/p2pfs.toml "$ROOT/etc/p2pfs/p2pfs.toml"

# The man page and completions come from the parser of the binary packaged.
mkdir -p "$ROOT/usr/share/man/man8"
"$ROOT/usr/bin/p2pfs" --experimental-dump-help \
    | python3 Packaging/deb/manpage.py "$VERSION" "$(git log -1 --format=%cs)" \
    | gzip -9n > "$ROOT/usr/share/man/man8/p2pfs.8.gz"
install -d "$ROOT/usr/share/bash-completion/completions" "$ROOT/usr/share/zsh/vendor-completions" \
    "$ROOT/usr/share/fish/vendor_completions.d"
# bash-completion sources the file: no #! line.
"$ROOT/usr/bin/p2pfs" --generate-completion-script bash | sed '1{/^#!/d}' > "$ROOT/usr/share/bash-completion/completions/p2pfs"
"$ROOT/usr/bin/p2pfs" --generate-completion-script zsh > "$ROOT/usr/share/zsh/vendor-completions/_p2pfs"
"$ROOT/usr/bin/p2pfs" --generate-completion-script fish > "$ROOT/usr/share/fish/vendor_completions.d/p2pfs.fish"

DOC="$ROOT/usr/share/doc/p2pfs"
install -D -m 0644 Packaging/deb/copyright "$DOC/copyright"
printf 'p2pfs (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD)" "$MAINTAINER" "$DATE" | gzip -9n > "$DOC/changelog.gz"

for script in postinst prerm postrm; do
    install -m 0755 "Packaging/deb/$script" "$ROOT/DEBIAN/$script"
done
echo /etc/p2pfs/p2pfs.toml > "$ROOT/DEBIAN/conffiles"

# Depends from the libraries the binary links (dpkg-shlibdeps wants a debian/control).
mkdir -p "$OUT/shlibs/debian"
printf 'Source: p2pfs\n\nPackage: p2pfs\nArchitecture: any\n' > "$OUT/shlibs/debian/control"
DEPENDS=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O -e"$(realpath "../root/usr/bin/p2pfs")" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "error: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: p2pfs
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
Depends: $DEPENDS
Recommends: nfs-common
Suggests: rpcbind
Section: net
Priority: optional
Description: files offered by the machines of a LAN as one NFS namespace
 p2pfs runs on every machine of a local network. Machines that offer
 directories export them; every machine sees the files of all of them
 merged into one namespace, served by p2pfs over NFS on loopback, so the
 kernel's own NFS client mounts it (mount -t nfs localhost:/ /mnt/p2p).
 .
 This package holds the daemon, its systemd units (p2pfs.service, and
 p2pfs@.service for several nodes on one host) and its configuration file
 /etc/p2pfs/p2pfs.toml.
CONTROL

(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$ROOT/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB"
echo "built $DEB"
dpkg-deb --info "$DEB" | sed -n '/Package:/,$p'

if [ "${LINTIAN:-1}" != 0 ]; then
    # Errors fail the build; warnings are shown.
    lintian --fail-on error "$DEB"
fi
