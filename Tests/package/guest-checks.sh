#!/bin/bash
# Runs inside the VM (Tests/package/run.sh), as p2pfs-vm-checks.service once
# systemd has booted: what an operator does with the package on a Debian 12
# that has never seen Swift. Prints P2PFS-CHECK PASS|FAIL lines and a
# P2PFS-VERDICT line on the console, then powers off.
set -u
failed=0
check() {   # check NAME COMMAND...: runs COMMAND, reports its outcome
    local name=$1; shift
    if "$@" >/tmp/check.out 2>&1; then
        echo "P2PFS-CHECK PASS $name"
    else
        echo "P2PFS-CHECK FAIL $name"
        sed 's/^/    /' /tmp/check.out | tail -n 30
        failed=1
    fi
}
# wait_for SECONDS COMMAND...: retries COMMAND every half second, bounded.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.5
    done
}
same_md5() { [ "$(md5sum < "$1")" = "$(md5sum < "$2")" ]; }

modprobe -a nfs nfsv3 nfsv4 || true

check no-swift-on-the-machine bash -c '! command -v swift && ! ls -d /opt/swift /usr/lib/swift 2>/dev/null'
check apt-get-install-offline apt-get install -y /root/p2pfs.deb
check only-system-libraries bash -c 'ldd /usr/bin/p2pfs; ! ldd /usr/bin/p2pfs | grep -Ei "swift|not found"'
check man-page-and-config bash -c 'test -s /usr/share/man/man8/p2pfs.8.gz && grep -q "^# export = " /etc/p2pfs/p2pfs.toml'
check not-started-by-install bash -c '! systemctl is-active p2pfs.service'

# Two nodes from config files: an export node on 127.0.0.2 (the template
# unit) and a client told only the export node.
cat > /etc/p2pfs/export.toml <<'TOML'
name = "nas"
export = ["movies=/srv/movies"]
listen = "127.0.0.2:7475"
TOML
cat > /etc/p2pfs/p2pfs.toml <<'TOML'
name = "client"
peer = ["127.0.0.2:7475"]
crawl-interval = 1
metrics = "on"
TOML
check enable-now systemctl enable --now p2pfs@export.service p2pfs.service
check both-active systemctl is-active p2pfs@export.service p2pfs.service
if [ $failed = 1 ]; then
    # Nothing below can work: show why and stop here.
    journalctl -u p2pfs.service -u p2pfs@export.service --no-pager | tail -n 40 | sed 's/^/    /'
    echo "P2PFS-VERDICT FAIL"
    exit 1
fi
check ready-notified bash -c 'systemctl show -p StatusText p2pfs.service | grep -q "serving NFS"'

echo 'localhost:/  /mnt/p2p  nfs  vers=4.1,proto=tcp,_netdev,nofail,x-systemd.requires=p2pfs.service  0  0' >> /etc/fstab
systemctl daemon-reload
mkdir -p /mnt/p2p
# What boot does with that line: remote-fs.target wants the generated
# mnt-p2p.mount, whose x-systemd.requires starts p2pfs.service first and
# mounts once the node said it is ready (Type=notify).
check boot-wants-the-mount bash -c 'systemctl show -p Wants remote-fs.target | grep -q mnt-p2p.mount'
check mount-requires-the-node bash -c 'systemctl show -p Requires -p After mnt-p2p.mount | tee /dev/stderr | grep -c p2pfs.service | grep -qx 2'
check stop-before-boot-path systemctl stop p2pfs.service
check boot-path-mount-unit systemctl start mnt-p2p.mount
check boot-path-started-the-node systemctl is-active p2pfs.service
check mounted findmnt -t nfs4 /mnt/p2p
umount /mnt/p2p
check fstab-mount-a mount -a
check mounted-again findmnt -t nfs4 /mnt/p2p
check file-appears wait_for 60 test -f /mnt/p2p/movies/KillBill
check md5-matches same_md5 /mnt/p2p/movies/KillBill /srv/movies/KillBill
# metrics_value NAME: the value of one sample of the client's /metrics.
metrics_value() {
    exec 3<>/dev/tcp/127.0.0.1/9475 || return 1
    printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
    awk -v m="$1" '$1 == m { print $2; exit }' <&3
    exec 3<&-
}
check metrics-count-the-read bash -c "$(declare -f metrics_value)"'; v=$(metrics_value "p2pfs_nfs_read_bytes_total{version=\"4.1\"}"); echo "read bytes: $v"; [ "${v%.*}" -ge "$(stat -c %s /srv/movies/KillBill)" ]'

# Reload the export node after adding an export: it appears, the mount stays.
sed -i 's|^export = .*|export = ["movies=/srv/movies", "music=/srv/music"]|' /etc/p2pfs/export.toml
check reload systemctl reload p2pfs@export.service
check reload-export-appears wait_for 60 test -f /mnt/p2p/music/Song
check reload-logged bash -c 'journalctl -u p2pfs@export.service | grep -q "reload: export added"'
check mount-stays-after-reload same_md5 /mnt/p2p/movies/KillBill /srv/movies/KillBill

# A bad file on reload keeps the running configuration.
echo 'cache-size = "big"' >> /etc/p2pfs/export.toml
systemctl reload p2pfs@export.service
check bad-reload-kept wait_for 30 bash -c 'journalctl -u p2pfs@export.service | grep -q "keeping the running configuration: /etc/p2pfs/export.toml:4: key .cache-size."'
check still-active-after-bad-reload systemctl is-active p2pfs@export.service
sed -i '/^cache-size/d' /etc/p2pfs/export.toml

# Restart the client node under the mount: same node id, the mount works.
before=$(cat /var/lib/p2pfs/node-id)
check restart systemctl restart p2pfs.service
check same-node-id bash -c "[ \"\$(cat /var/lib/p2pfs/node-id)\" = '$before' ]"
check mount-works-after-restart wait_for 90 same_md5 /mnt/p2p/movies/KillBill /srv/movies/KillBill

check journal-lines-without-timestamp bash -c 'line=$(journalctl -u p2pfs.service -o cat | grep -m1 "ready"); echo "$line"; [ -n "$line" ] && [[ ! $line =~ ^[0-9]{4}- ]]'
echo "P2PFS-INFO security $(systemd-analyze security p2pfs.service 2>/dev/null | tail -n 1)"
echo "P2PFS-INFO security $(systemd-analyze security p2pfs@export.service 2>/dev/null | tail -n 1)"

umount /mnt/p2p
check stop systemctl stop p2pfs.service p2pfs@export.service
check no-process-left bash -c '! pgrep -x p2pfs'

if [ $failed = 0 ]; then echo "P2PFS-VERDICT PASS"; else
    echo "P2PFS-VERDICT FAIL"
    journalctl -u p2pfs.service -u p2pfs@export.service --no-pager | tail -n 40 | sed 's/^/    /'
fi
