#!/bin/sh
# p2pfs user-path checks, run inside the kernel-test guest by /init
# (busybox sh; the file tools are GNU coreutils/findutils/tar/diffutils and
# mount/umount/flock are util-linux, as on a Debian machine).
#
#   guest-checks.sh single|peers|embedded|bare [4.1|3]
#
# Prepares source trees, starts p2pfs daemons on the guest's loopback, mounts
# the merged namespace with exactly `mount -t nfs localhost:/ /mnt/p2p` (vers
# 4.1, the default: it must negotiate NFSv4.1) or `mount -t nfs -o vers=3
# localhost:/ /mnt/p2p` (vers 3) and uses it with ordinary programs. Each check prints one console line:
#
#   P2PFS-CHECK PASS <name>
#   P2PFS-CHECK FAIL <name>: <detail>
#   P2PFS-CHECK SKIP <name>: <reason>
#
# followed by its output (indented) so console.log explains every failure.
# Every command that touches the mount or waits for a daemon is bounded.
# Exit status: 0 when no check failed, 1 otherwise.

SCENARIO=${1:-single}
VERS=${2:-4.1}             # the NFS version the mount must end up with
case $VERS in
  4.1) MOUNT_OPTS="" ;;            # the literal command a user types
  3) MOUNT_OPTS="-o vers=3" ;;
  *) echo "harness: guest-checks.sh: unknown NFS version '$VERS' (4.1 or 3)"; exit 2 ;;
esac
LOCKTOOL=/usr/local/bin/p2pfs-locktool   # fcntl/flock locks (Tests/kernel/locktool.c)
LOCK_SECS=30               # a lock that should be granted must be within this
MNT=/mnt/p2p
EXPECT=/srv/all            # what $MNT must look like (union of all exports)
RESULTS=/run/p2pfs-test/results
LOGS=/run/p2pfs-test/logs
NFS_ADDR=127.0.0.1
NFS_PORT=2049              # p2pfs serves NFS, MOUNT and NLM on this one port
CONVERGE_SECS=90           # > the NFS client's directory attribute cache (30-60 s), with room for TCG
DEAD_READ_LIMIT=10         # reading a file whose node is gone must fail this fast
# Bounds for waits on the daemons: generous, for TCG on shared cores. A wait
# ends as soon as its event happens; the bound only decides when to give up.
LISTEN_SECS=60             # a node's peer port listening
NFS_READY_SECS=90          # the NFS service answering

# The real programs (GNU, util-linux) instead of busybox applets; see run.sh.
. /usr/local/lib/p2pfs-test/real-tools.sh

mkdir -p "$LOGS" /var/log
MOUNTED=0
NFS_UP=0

# --- reporting ---------------------------------------------------------------
report() {   # report PASS|FAIL|SKIP name [detail]
  echo "$1 $2" >> "$RESULTS"
  if [ -n "$3" ]; then
    printf 'P2PFS-CHECK %s %s: %s\n' "$1" "$2" "$3"
  else
    printf 'P2PFS-CHECK %s %s\n' "$1" "$2"
  fi
}

# bad MESSAGE: state why a check fails (checks do `bad ...; return 1`). The
# first such message becomes the detail on the check's FAIL line.
bad() { echo "$*"; echo "$*" | tr '\n' ' ' | sed 's/ *$//' >> "$_reasons"; echo >> "$_reasons"; }
_reasons=/dev/null

# run_check NAME FUNCTION [ARGS]: run one check in this shell (so it may
# start daemons or change state), its output going to $LOGS/NAME.log.
run_check() {
  _name=$1; shift
  _log=$LOGS/$_name.log
  _reasons=$LOGS/$_name.reasons
  : > "$_reasons"
  echo "---- check $_name ----"
  _t0=$(now)
  "$@" > "$_log" 2>&1
  _rc=$?
  cd /
  tail -n 60 "$_log" | sed 's/^/    /'
  echo "    (check $_name took $(elapsed "$_t0")s)"
  if [ "$_rc" -eq 0 ]; then
    report PASS "$_name"
  else
    _detail=$(head -n 1 "$_reasons")
    [ -n "$_detail" ] || _detail=$(grep -v '^[[:space:]]*$' "$_log" | tail -n 1)
    _detail=$(echo "$_detail" | cut -c1-300)
    report FAIL "$_name" "${_detail:-exit status $_rc}"
  fi
  return "$_rc"
}

# need_mount NAME FUNCTION [ARGS]: run a check that needs the mount, or skip it.
need_mount() {
  if [ "$MOUNTED" = 1 ]; then
    drop_caches    # make every check read from the server, not the page cache
    run_check "$@"
  else
    report SKIP "$1" "needs the NFS mount, which failed above"
  fi
}

# --- helpers -------------------------------------------------------------------
t() { timeout -k 5 "$@"; }         # t SECONDS CMD...: bounded command
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
md5() { md5sum | cut -d' ' -f1; }
# secs: whole seconds since boot into SECS (no fork: loops call it often).
secs() { read -r _up _idle < /proc/uptime; SECS=${_up%.*}; }
# deadline SECONDS: set DEADLINE, at least SECONDS from now (whole seconds,
# rounded up); before_deadline: true until it has passed.
deadline() { secs; DEADLINE=$((SECS + $1 + 1)); }
before_deadline() { secs; [ "$SECS" -lt "$DEADLINE" ]; }

# proc_state PID: what became of a child of this shell, from one read of
# /proc/PID/stat. Prints
#   running   it exists and is not a zombie
#   zombie    it exited and is waiting to be reaped
#   gone      it exited and the shell already reaped it (no /proc entry, or
#             the pid now belongs to a process that is not our child)
#   unknown   /proc/PID exists but its stat could not be read
# The shell reaps children at any moment (while it runs another command), so
# a single read decides: reading /proc twice would race with that.
proc_state() {
  [ -n "$1" ] || { echo gone; return; }
  _st=$(cat "/proc/$1/stat" 2>/dev/null)
  if [ -z "$_st" ]; then
    if [ -e "/proc/$1" ]; then echo unknown; else echo gone; fi
    return
  fi
  # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
  set -- ${_st##*) }
  case $1 in
    Z|X|x) echo zombie ;;
    *) if [ "$2" = "$$" ]; then echo running; else echo gone; fi ;;
  esac
}
alive() { [ "$(proc_state "$1")" = running ]; }   # alive PID: a running child

# wait_exit PID SECONDS: wait until child PID has exited (zombie or reaped).
# 0 when it has, 1 when it is still running at the deadline, 2 when its state
# could not be read at the deadline (WAIT_STATE says which).
wait_exit() {
  deadline "$2"
  while :; do
    WAIT_STATE=$(proc_state "$1")
    case $WAIT_STATE in zombie|gone) return 0 ;; esac
    before_deadline || break
    sleep 0.2
  done
  [ "$WAIT_STATE" = running ] && return 1
  return 2
}

# Daemons. Each runs in the background with its log in /var/log/p2pfs-NAME.log;
# PID_<name> holds its pid, EXIT_<name> its exit status once it was reaped.
spawn() {   # spawn NAME p2pfs daemon ...
  _n=$1; shift
  mkdir -p "/var/lib/p2pfs-$_n"
  echo "\$ $*" >> "/var/log/p2pfs-$_n.log"
  # Like a service manager: cwd /, nothing of the caller's open on the mount
  # (a check may be sitting in a directory of it or hold fd 7 open there).
  (cd / && exec "$@" 7<&- < /dev/null >> "/var/log/p2pfs-$_n.log" 2>&1) &
  eval "PID_$_n=$! EXIT_$_n="
  echo "started $_n (pid $!): $*"
}
pid_of() { eval "echo \${PID_$1:-}"; }
exit_of() { eval "echo \${EXIT_$1:-}"; }

# reap NAME: collect the exit status of daemon NAME, which has exited, into
# EXIT_<name> (once: the shell keeps a child's status until it is waited for).
reap() {
  [ -n "$(exit_of "$1")" ] && return 0
  wait "$(pid_of "$1")" 2>/dev/null
  eval "EXIT_$1=$?"
}

daemon_tails() {   # print the end of every daemon log
  for f in /var/log/p2pfs-*.log; do
    [ -f "$f" ] || continue
    echo "== tail of $f =="
    tail -n 25 "$f"
  done
}

# died NAME: if daemon NAME has exited, say so with its exit status and
# succeed; fail while it runs or while its state cannot be read.
died() {
  _p=$(pid_of "$1")
  case $(proc_state "$_p") in running|unknown) return 1 ;; esac
  reap "$1"
  echo "daemon $1 (pid $_p) exited with status $(exit_of "$1")"
  return 0
}

# daemon_state NAME...: set DSTATE to a phrase for failure messages: what the
# harness knows of each daemon NAME now. (Not in $(...): reaping needs this
# shell, whose children the daemons are.)
daemon_state() {
  DSTATE=""
  for _d in "$@"; do
    _p=$(pid_of "$_d")
    case $(proc_state "$_p") in
      running) _s="daemon $_d (pid $_p) is still running" ;;
      unknown) _s="harness: could not read the state of daemon $_d (pid $_p) from /proc" ;;
      *) if [ -n "$_p" ]; then reap "$_d"; _s="daemon $_d (pid $_p) has exited with status $(exit_of "$_d")"
         else _s="daemon $_d is not running (stopped by the harness or never started)"; fi ;;
    esac
    DSTATE="${DSTATE:+$DSTATE; }$_s"
  done
}

# stop_daemon NAME SIGNAL: signal daemon NAME and wait (bounded) until it has
# exited, then check how. Fails, saying why, when the daemon had already
# exited before the signal (it crashed earlier), exits with a status other
# than 0 or the one SIGNAL implies (it crashed on the way out), needs SIGKILL
# after SIGTERM, or survives SIGKILL. A daemon never started is no error.
STOP_SECS=30
stop_daemon() {
  _p=$(pid_of "$1")
  [ -n "$_p" ] || return 0
  case $(proc_state "$_p") in
    zombie|gone)
      reap "$1"; eval "PID_$1="
      bad "p2pfs: daemon $1 (pid $_p) had already exited, with status $(exit_of "$1"), before the harness sent it SIG$2"
      return 1 ;;
  esac
  _ts=$(now)
  kill "-$2" "$_p" 2>/dev/null
  _killed=""
  wait_exit "$_p" "$STOP_SECS"
  _w=$?
  if [ "$_w" -ne 0 ] && [ "$2" != KILL ]; then
    echo "daemon $1 ($WAIT_STATE) ${STOP_SECS}s after SIG$2; sending SIGKILL"
    _killed="did not exit within ${STOP_SECS}s of SIG$2 and was killed with SIGKILL"
    kill -KILL "$_p" 2>/dev/null
    wait_exit "$_p" 10
    _w=$?
  fi
  case $_w in
    1) bad "p2pfs: daemon $1 (pid $_p) is still running $(elapsed "$_ts")s after SIG$2${_killed:+ and SIGKILL} (state: $(cut -d' ' -f3 "/proc/$_p/stat" 2>/dev/null))"; return 1 ;;
    2) bad "harness: could not tell whether daemon $1 (pid $_p) exited after SIG$2: /proc/$_p exists but its stat cannot be read"; return 1 ;;
  esac
  reap "$1"; eval "PID_$1="
  _st=$(exit_of "$1")
  echo "daemon $1 (pid $_p) exited with status $_st $(elapsed "$_ts")s after SIG$2"
  [ -z "$_killed" ] || { bad "p2pfs: daemon $1 $_killed (exit status $_st)"; return 1; }
  case $2:$_st in
    KILL:137|TERM:0|TERM:143|INT:0|INT:130) return 0 ;;
  esac
  bad "p2pfs: daemon $1 exited with status $_st on SIG$2 (expected $(case $2 in KILL) echo 137 ;; TERM) echo '0 or 143' ;; *) echo "0 or 128+SIG$2" ;; esac))"
  return 1
}

# wait_listen NAME IP PORT SECONDS: wait until daemon NAME listens on IP:PORT/tcp.
wait_listen() {
  _hex=$(echo "$2" | awk -F. '{ printf "%02X%02X%02X%02X", $4, $3, $2, $1 }')
  _hex=$_hex:$(printf '%04X' "$3")
  _start=$(now)
  deadline "$4"
  while :; do
    awk -v a="$_hex" '$2 == a && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp && {
      echo "daemon $1 listens on $2:$3 after $(elapsed "$_start")s"
      return 0
    }
    died "$1" && { bad "p2pfs: daemon $1 exited with status $(exit_of "$1") before listening on $2:$3"; return 1; }
    before_deadline || break
    sleep 0.25
  done
  daemon_state "$1"
  case $DSTATE in harness:*) _who="harness" ;; *) _who="p2pfs" ;; esac
  bad "$_who: daemon $1 is not listening on $2:$3/tcp after $4s ($DSTATE)"
  return 1
}

# wait_nfs NAME SECONDS: wait until the NFS service of daemon NAME answers a
# NULL call on $NFS_ADDR:$NFS_PORT (asked directly, not through rpcbind).
# Scenario bare: rpcinfo cannot ask anything without a portmapper on the
# machine, so there the event is the NFS port listening.
wait_nfs() {
  if [ "$SCENARIO" = bare ]; then
    wait_listen "$1" "$NFS_ADDR" "$NFS_PORT" "$2"
    return
  fi
  _start=$(now)
  deadline "$2"
  while :; do
    t 5 rpcinfo -n "$NFS_PORT" -t "$NFS_ADDR" 100003 3 >/dev/null 2>&1 && {
      echo "NFSv3 answers on $NFS_ADDR:$NFS_PORT after $(elapsed "$_start")s"
      return 0
    }
    died "$1" && { bad "p2pfs: daemon $1 exited with status $(exit_of "$1") before serving NFSv3 on $NFS_ADDR:$NFS_PORT"; return 1; }
    before_deadline || break
    sleep 0.5
  done
  daemon_state "$1"
  case $DSTATE in harness:*) _who="harness" ;; *) _who="p2pfs" ;; esac
  bad "$_who: NFSv3 (100003 v3) does not answer on $NFS_ADDR:$NFS_PORT/tcp after $2s ($DSTATE)"
  return 1
}

# The daemon that serves NFS in this scenario, and its command line.
# SOURCES: every tree a daemon of the scenario exports (writes through the
# mount must reach none of them).
if [ "$SCENARIO" = peers ]; then
  CLIENT=c
  SOURCES="/srv/a /srv/b"
  client_cmd() { set -- p2pfs daemon --discovery off --name c --nfs "$NFS_ADDR:$NFS_PORT" --peer 127.0.0.2:7475 --state-dir /var/lib/p2pfs-c; echo "$@"; }
else
  CLIENT=solo
  SOURCES=/srv/all
  # bare: no rpcbind or statd on the machine, and p2pfs registers nowhere.
  PORTMAP=""
  [ "$SCENARIO" = bare ] && PORTMAP="--portmap off"
  client_cmd() { set -- p2pfs daemon --discovery off --name solo --export movies=/srv/all/movies --nfs "$NFS_ADDR:$NFS_PORT" --state-dir /var/lib/p2pfs-solo --metrics 127.0.0.1:9100 $PORTMAP; echo "$@"; }
fi

# Where the single node served the reads of its own files so far: copied on
# an event loop or the thread pool, or sent by sendfile. On Linux 6.5 and
# later (cachestat) some READs must have gone out by sendfile, which is
# then the path the kernel client's reads took; before 6.5, none may.
check_local_reads() {
  _reads=$(t 10 wget -q -O - http://127.0.0.1:9100/metrics 2>/dev/null \
    | sed -n 's/^p2pfs_local_reads_total{served="\([a-z_]*\)"} \([0-9]*\).*/\1=\2/p' | tr '\n' ' ')
  echo "P2PFS-INFO local reads on $(uname -r): ${_reads:-no metrics answer}"
  [ -n "$_reads" ] || { bad "the node's metrics did not answer"; return 1; }
  _sent=$(echo "$_reads" | tr ' ' '\n' | sed -n 's/^sendfile=//p')
  _release=$(uname -r)
  _major=${_release%%.*}; _rest=${_release#*.}; _minor=${_rest%%[!0-9]*}
  if [ "$_major" -gt 6 ] || { [ "$_major" -eq 6 ] && [ "$_minor" -ge 5 ]; }; then
    [ "${_sent:-0}" -gt 0 ] || { bad "Linux $_release tells which pages are cached, yet no READ went out by sendfile ($_reads)"; return 1; }
  else
    [ "${_sent:-0}" -eq 0 ] || { bad "Linux $_release has no cachestat, yet $_sent READs went out by sendfile"; return 1; }
  fi
}

# shellcheck disable=SC2046 # the command line is split into words on purpose
start_client() { spawn "$CLIENT" $(client_cmd); }

# --- the source trees -----------------------------------------------------------
# /srv/a/movies (node a) and /srv/b/movies (node b); /srv/all/movies is their
# union, exported by the single node and used as the expected view.
# Sizes are deliberately not multiples of any block size.
KB_SIZE=$((6 * 1048576 + 12345))
TM_SIZE=$((3 * 1048576 + 777))
prepare_sources() {
  mkdir -p /srv/a/movies/extras/making-of /srv/b/movies/sequels || return 1
  head -c "$KB_SIZE" /dev/urandom > /srv/a/movies/KillBill
  head -c "$TM_SIZE" /dev/urandom > /srv/b/movies/TheMatrix
  printf 'Kill Bill: notes from the set\n' > /srv/a/movies/extras/making-of/notes.txt
  : > /srv/a/movies/extras/empty
  ln -s KillBill /srv/a/movies/latest
  printf 'The Matrix Reloaded\n' > /srv/b/movies/sequels/Reloaded.txt
  # A Latin-1 name (not UTF-8): served with its exact bytes, 63 61 66 e9.
  printf 'Latin-1 name\n' > "$(printf '/srv/a/movies/caf\351')"
  touch -d '2003-05-15 12:00:00' /srv/b/movies/TheMatrix
  touch -h -d '2004-04-16 12:00:00' /srv/a/movies/latest
  mkdir -p /srv/all/movies
  cp -a /srv/a/movies/. /srv/all/movies/ && cp -a /srv/b/movies/. /srv/all/movies/ || return 1
  (cd "$EXPECT" && find . -printf '%y %M %s %p %l\n' | sort)
  [ "$(stat -c %s /srv/all/movies/KillBill)" = "$KB_SIZE" ] || { bad "source KillBill has the wrong size"; return 1; }
}

# Listing of a tree: names, types, sizes of regular files, symlink targets.
tree_of() {
  (cd "$1" && {
    t 60 find . -type d -printf 'd %p\n'
    t 60 find . -type f -printf 'f %p %s\n'
    t 60 find . -type l -printf 'l %p -> %l\n'
    t 60 find . ! -type d ! -type f ! -type l -printf '? %p %y\n'
  } | LC_ALL=C sort)
}

# --- checks -----------------------------------------------------------------------
check_daemons_single() {
  start_client
  wait_nfs solo "$NFS_READY_SECS" || { daemon_tails; return 1; }
  NFS_UP=1
}

check_daemons_peers() {
  spawn a p2pfs daemon --discovery off --name a --export movies=/srv/a/movies --listen 127.0.0.2:7475 --state-dir /var/lib/p2pfs-a
  wait_listen a 127.0.0.2 7475 "$LISTEN_SECS" || { daemon_tails; return 1; }
  spawn b p2pfs daemon --discovery off --name b --export movies=/srv/b/movies --listen 127.0.0.3:7475 --peer 127.0.0.2:7475 --state-dir /var/lib/p2pfs-b
  wait_listen b 127.0.0.3 7475 "$LISTEN_SECS" || { daemon_tails; return 1; }
  start_client
  wait_nfs c "$NFS_READY_SECS" || { daemon_tails; return 1; }
  NFS_UP=1
}

# `--portmap auto` (the default) registers NFS, MOUNT and NLM with rpcbind;
# mount.nfs finds MOUNT (and the kernel finds NLM) only that way.
check_rpcbind_registration() {
  out=$(t 10 rpcinfo -p 2>&1)
  echo "$out"
  missing=""
  echo "$out" | grep -Eq '^ *100003 +3 +tcp +2049 ' || missing="$missing nfs(100003 v3 tcp 2049)"
  echo "$out" | grep -Eq '^ *100005 +3 +tcp ' || missing="$missing mountd(100005 v3 tcp)"
  echo "$out" | grep -Eq '^ *100021 +4 +tcp ' || missing="$missing nlockmgr(100021 v4 tcp)"
  [ -z "$missing" ] || { bad "rpcbind lacks:$missing"; return 1; }
}

nlm_port() {   # rpcbind's port for nlockmgr v4/tcp, "none", or "unreadable"
  _o=$(t 10 rpcinfo -p 2>/dev/null) || { echo unreadable; return; }
  _np=$(echo "$_o" | awk '$1 == 100021 && $2 == 4 && $3 == "tcp" { print $4; exit }')
  echo "${_np:-none}"
}

check_mount() {
  mkdir -p "$MNT"
  NLM_BEFORE=$(nlm_port)
  start=$(now)
  echo "\$ mount -t nfs $MOUNT_OPTS${MOUNT_OPTS:+ }localhost:/ $MNT"
  IMM_RC=""
  # shellcheck disable=SC2086 # MOUNT_OPTS is empty or two words
  if t 60 mount -t nfs $MOUNT_OPTS localhost:/ "$MNT"; then
    rc=0
    # A lock taken the instant the mount returns must work. On NFSv4.1 it
    # travels in the NFS connection. On NFSv3 the mount started the
    # kernel's lockd, which took NLM's rpcbind entry; p2pfs puts its entry
    # back before it answers the mount's FSINFO, so the lock finds p2pfs.
    read -r lock_start _ < /proc/uptime   # no fork between mount and flock
    t "$LOCK_SECS" flock -x -w 20 -E 99 "$MNT/movies/KillBill" true
    IMM_RC=$?
    IMM_TOOK=$(elapsed "$lock_start")
  else
    rc=$?
  fi
  echo "mount exit status $rc after $(elapsed "$start")s"
  if [ "$rc" -ne 0 ]; then
    case $rc in 124|137) bad "mount -t nfs $MOUNT_OPTS${MOUNT_OPTS:+ }localhost:/ $MNT did not finish within 60s" ;;
      *) bad "mount -t nfs $MOUNT_OPTS${MOUNT_OPTS:+ }localhost:/ $MNT failed (exit status $rc)" ;; esac
    daemon_tails
    return 1
  fi
  MOUNTED=1
  MOUNT_DONE=$(now)
  line=$(awk -v m="$MNT" '$2 == m' /proc/mounts)
  echo "/proc/mounts: $line"
  echo "rpcinfo -p after mount:"
  t 10 rpcinfo -p 2>&1
  NLM_AFTER=$(nlm_port)
  echo "nlockmgr v4/tcp port: before mount $NLM_BEFORE, after mount $NLM_AFTER (p2pfs's is $NFS_PORT)"
  case $VERS:$line in
    3:*" nfs "*vers=3,*proto=tcp*|4.1:*" nfs4 "*vers=4.1,*proto=tcp*) ;;
    *) bad "p2pfs: expected an NFSv$VERS/TCP mount, /proc/mounts says: $line"; return 1 ;;
  esac
}

# The flock -x that check_mount ran the moment mount returned.
check_flock_now() {
  echo "flock -x -w 20 movies/KillBill, run as soon as mount returned: exit status $IMM_RC after ${IMM_TOOK}s"
  case $IMM_RC in
    0) ;;
    124|137) bad "p2pfs: a flock taken the instant the mount returned did not finish within ${LOCK_SECS}s"; return 1 ;;
    99) bad "p2pfs: a flock taken the instant the mount returned was refused as held by someone else (nobody holds it)"; return 1 ;;
    *) bad "p2pfs: a flock taken the instant the mount returned failed with exit status $IMM_RC"; return 1 ;;
  esac
}

# lock_ops: how many NFSv4 LOCK operations the client sent on $MNT
# (/proc/self/mountstats, per-op statistics), or "none".
lock_ops() {
  _n=$(awk -v m="$MNT" '$1 == "device" { sel = ($5 == m) } sel && $1 == "LOCK:" { print $2; exit }' /proc/self/mountstats)
  echo "${_n:-none}"
}
# lockd_threads: pids of the kernel's NLM lock manager (started by NFSv2/3
# mounts only), or nothing.
lockd_threads() {
  for _c in /proc/[0-9]*/comm; do
    [ "$(cat "$_c" 2>/dev/null)" = lockd ] && { _c=${_c%/comm}; printf '%s ' "${_c#/proc/}"; }
  done
}

check_converge() {   # peers: both nodes' files become visible through c
  start=$(now)
  deadline "$CONVERGE_SECS"
  while :; do
    names=$(t 10 ls "$MNT/movies" 2>&1)
    case $names in *KillBill*) case $names in *TheMatrix*)
      echo "ls $MNT/movies after $(elapsed "$start")s:"; echo "$names"; return 0 ;; esac ;; esac
    before_deadline || break
    sleep 1
  done
  echo "last listing: $names"
  daemon_tails
  daemon_state a b c
  bad "ls $MNT/movies does not show both KillBill (node a) and TheMatrix (node b) after ${CONVERGE_SECS}s ($DSTATE)"
  return 1
}

check_ls_lR() {
  out=$(t 60 ls -lR "$MNT" 2>&1)
  rc=$?
  echo "$out"
  [ "$rc" -eq 0 ] || { bad "ls -lR $MNT exited with status $rc"; return 1; }
  for n in KillBill TheMatrix notes.txt Reloaded.txt empty 'latest -> KillBill'; do
    echo "$out" | grep -q -- "$n" || { bad "ls -lR does not show '$n'"; return 1; }
  done
  echo "$out" | grep -q '?????????' && { bad "ls -lR shows entries it could not stat"; return 1; }
  return 0
}

check_find() {   # same names, types, sizes and symlink targets as the sources
  tree_of "$EXPECT" > /tmp/tree.expect
  tree_of "$MNT" > /tmp/tree.mount 2>/tmp/tree.err
  cat /tmp/tree.err
  if ! diff -u /tmp/tree.expect /tmp/tree.mount; then
    bad "find: the tree under $MNT differs from the sources (diff above)"
    return 1
  fi
  [ -s /tmp/tree.err ] && { bad "find reported errors"; return 1; }
  cat /tmp/tree.mount
}

check_stat() {
  rc=0
  for p in movies movies/KillBill movies/TheMatrix movies/extras movies/extras/making-of \
           movies/extras/making-of/notes.txt movies/extras/empty movies/latest movies/sequels/Reloaded.txt; do
    got=$(t 30 stat -c '%F' "$MNT/$p" 2>&1)
    want=$(stat -c '%F' "$EXPECT/$p")
    [ "$got" = "$want" ] || { bad "stat $p: type '$got', expected '$want'"; rc=1; continue; }
    case $want in
      "regular file"|"regular empty file")
        got=$(t 30 stat -c '%s %Y' "$MNT/$p" 2>&1); want=$(stat -c '%s %Y' "$EXPECT/$p")
        [ "$got" = "$want" ] || { bad "stat $p: size/mtime '$got', expected '$want'"; rc=1; } ;;
      "symbolic link")
        got=$(t 30 readlink "$MNT/$p" 2>&1); want=$(readlink "$EXPECT/$p")
        [ "$got" = "$want" ] || { bad "readlink $p: '$got', expected '$want'"; rc=1; } ;;
    esac
    t 30 stat "$MNT/$p"
  done
  return "$rc"
}

check_cat_md5sum() {
  for p in movies/KillBill movies/TheMatrix movies/extras/making-of/notes.txt movies/sequels/Reloaded.txt movies/latest; do
    want=$(md5 < "$EXPECT/$p")
    got=$(t 60 cat "$MNT/$p" | md5)
    [ "$got" = "$want" ] || { bad "cat $p | md5sum: $got, expected $want"; return 1; }
    got=$(t 60 md5sum "$MNT/$p" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { bad "md5sum $p: $got, expected $want"; return 1; }
    echo "$want  $p"
  done
}

# A Latin-1 name (the bytes 63 61 66 e9, not UTF-8) lists and reads through
# the mount with exactly those bytes.
check_byte_name() {
  _listed=$(cd "$MNT/movies" && for f in caf*; do printf '%s' "$f" | od -An -tx1 | tr -d ' \n'; echo; done)
  echo "$_listed" | grep -qx '636166e9' || { bad "no entry with the bytes 63 61 66 e9 in movies (saw: $(echo $_listed))"; return 1; }
  want=$(md5 < "$(printf '%s/movies/caf\351' "$EXPECT")")
  got=$(t 30 cat "$(printf '%s/movies/caf\351' "$MNT")" | md5)
  [ "$got" = "$want" ] || { bad "cat movies/caf\\xE9 | md5sum: $got, expected $want"; return 1; }
  echo "$want  movies/caf\\xE9"
}

check_empty_file() {
  [ -f "$MNT/movies/extras/empty" ] || { bad "movies/extras/empty is not a regular file"; return 1; }
  size=$(t 30 stat -c %s "$MNT/movies/extras/empty")
  [ "$size" = 0 ] || { bad "movies/extras/empty has size $size"; return 1; }
  n=$(t 30 cat "$MNT/movies/extras/empty" | wc -c)
  [ "$n" = 0 ] || { bad "cat movies/extras/empty gave $n bytes"; return 1; }
}

check_cp_r() {
  rm -rf /tmp/cp-out && mkdir -p /tmp/cp-out
  t 120 cp -r "$MNT/movies" /tmp/cp-out/ || { bad "cp -r $MNT/movies failed"; return 1; }
  diff -r --no-dereference "$EXPECT/movies" /tmp/cp-out/movies || { bad "the copy made by cp -r differs from the sources"; return 1; }
  rm -rf /tmp/cp-out
}

check_du() {
  t 60 du -ah "$MNT" || { bad "du -ah $MNT failed"; return 1; }
  bytes=$(( KB_SIZE + TM_SIZE ))
  apparent=$(t 60 du -sb "$MNT/movies" | cut -f1)
  used_k=$(t 60 du -sk "$MNT/movies" | cut -f1)
  echo "du -sb: $apparent bytes (files hold $bytes); du -sk: $used_k KiB"
  [ "${apparent:-0}" -ge "$bytes" ] || { bad "du -sb says $apparent bytes, the files alone hold $bytes"; return 1; }
  [ "${used_k:-0}" -ge $(( bytes / 1024 * 9 / 10 )) ] || { bad "du -sk says $used_k KiB, the files hold $((bytes / 1024)) KiB (space used not reported?)"; return 1; }
}

check_tar() {
  rm -rf /tmp/tar-out && mkdir -p /tmp/tar-out
  t 120 tar cf /tmp/movies.tar -C "$MNT" movies || { bad "tar c of $MNT/movies exited with status $?"; return 1; }
  tar tvf /tmp/movies.tar
  tar xf /tmp/movies.tar -C /tmp/tar-out || { bad "could not extract the tar archive"; return 1; }
  diff -r --no-dereference "$EXPECT/movies" /tmp/tar-out/movies || { bad "the tree extracted from tar differs from the sources"; return 1; }
  rm -rf /tmp/tar-out /tmp/movies.tar
}

check_dd_offsets() {
  # file | dd operands
  for spec in \
    "KillBill|bs=4096 skip=0 count=1" \
    "KillBill|bs=4096 skip=1 count=2" \
    "KillBill|bs=65536 skip=17 count=3" \
    "KillBill|bs=1M skip=5 count=2" \
    "KillBill|bs=1M skip=100 count=1" \
    "KillBill|iflag=skip_bytes,count_bytes bs=65536 skip=4095 count=100000" \
    "KillBill|iflag=skip_bytes,count_bytes bs=65536 skip=$((KB_SIZE - 100)) count=1000" \
    "TheMatrix|iflag=skip_bytes bs=1M skip=1048577" \
    "TheMatrix|bs=512 skip=3 count=7"; do
    f=${spec%%|*}; ops=${spec#*|}
    want=$(dd if="$EXPECT/movies/$f" $ops status=none | md5)
    got=$(t 60 dd if="$MNT/movies/$f" $ops status=none | md5)
    echo "dd $f $ops: $got"
    [ "$got" = "$want" ] || { bad "dd if=movies/$f $ops: md5 $got, expected $want"; return 1; }
  done
}

check_head_c() {
  for n in 1 4096 1000000 "$KB_SIZE" $((KB_SIZE + 1000)); do
    want=$(head -c "$n" "$EXPECT/movies/KillBill" | md5)
    got=$(t 60 head -c "$n" "$MNT/movies/KillBill" | md5)
    echo "head -c $n: $got"
    [ "$got" = "$want" ] || { bad "head -c $n movies/KillBill: md5 $got, expected $want"; return 1; }
  done
  want=$(tail -c 5000 "$EXPECT/movies/KillBill" | md5)
  got=$(t 60 tail -c 5000 "$MNT/movies/KillBill" | md5)
  [ "$got" = "$want" ] || { bad "tail -c 5000 movies/KillBill: md5 $got, expected $want"; return 1; }
}

# Two processes lock through p2pfs's own lock manager: one holds an exclusive
# flock (NFS turns it into an NLM lock on the server), a second `flock -n` must
# be refused while it is held and granted after release. -E 99 tells "refused
# because held" (exit 99) from any other error (exit 1).
#
# The kernel sends its NLM requests to whatever rpcbind names for nlockmgr
# (100021 v4/tcp) when the mount's first lock is taken, so the check first
# asserts that this is p2pfs's port ($NFS_PORT) and not the port of the
# kernel's own lockd (started by the mount, which registers itself over
# p2pfs's entry until p2pfs puts its own back). It runs many seconds after the
# mount: a lock taken the instant an NFSv3 mount returns can still race with
# that re-registration, which this check does not cover.
#
# On NFSv4.1 the same two processes lock in-band: the check asserts that the
# client sent NFSv4 LOCK operations (mountstats) and that no NLM was
# involved (the kernel's lockd, which NFSv3 mounts start, is not running).
check_flock() {
  f=$MNT/movies/KillBill
  if [ "$VERS" = 3 ]; then
    port=$(nlm_port)
    echo "rpcbind's nlockmgr v4/tcp port at the first lock: $port ($(elapsed "$MOUNT_DONE")s after the mount returned)"
    case $port in
      "$NFS_PORT") ;;
      unreadable) bad "harness: rpcinfo -p did not answer, so it is unknown which lock manager the kernel would use"; return 1 ;;
      *) bad "p2pfs: rpcbind names port $port, not p2pfs's $NFS_PORT, for nlockmgr v4/tcp $(elapsed "$MOUNT_DONE")s after the mount (the kernel's lockd registration was not replaced), so a lock would go to the kernel's own lockd"; return 1 ;;
    esac
  else
    ops_before=$(lock_ops)
    echo "NFSv4 LOCK operations sent on $MNT before the check: $ops_before"
    [ "$ops_before" != none ] || { bad "harness: /proc/self/mountstats has no LOCK counter for $MNT"; return 1; }
  fi
  rm -f /tmp/flock.held /tmp/flock.release
  touch /tmp/flock.release
  # The holder is flock itself (pid $holder, so it can be killed directly);
  # -w bounds its wait for the lock. It holds the lock until
  # /tmp/flock.release is removed (bounded far beyond the guest's budget;
  # exit 3 if that bound ever ends the hold).
  flock -w 40 "$f" sh -c 'touch /tmp/flock.held; i=0; while [ -e /tmp/flock.release ]; do [ $i -ge 6000 ] && exit 3; sleep 0.1; i=$((i+1)); done' \
    > /tmp/flock.holder.log 2>&1 &
  holder=$!
  deadline 60
  while [ ! -e /tmp/flock.held ]; do
    case $(proc_state "$holder") in zombie|gone) break ;; esac
    before_deadline || break
    sleep 0.1
  done
  if [ ! -e /tmp/flock.held ]; then
    rm -f /tmp/flock.release
    case $(proc_state "$holder") in
      zombie|gone)
        wait "$holder" 2>/dev/null
        state="flock exited with status $?: $(tail -n 1 /tmp/flock.holder.log)" ;;
      *)
        state="no answer to the lock request after 60s"
        kill -KILL "$holder" 2>/dev/null
        wait_exit "$holder" 10 && wait "$holder" 2>/dev/null ;;
    esac
    cat /tmp/flock.holder.log
    if [ "$VERS" = 3 ]; then via="; rpcbind named port $port (p2pfs) for nlockmgr v4/tcp"; else via=" (NFSv4.1 LOCK)"; fi
    bad "p2pfs: the first process could not take an exclusive flock on movies/KillBill ($state)$via"
    return 1
  fi
  echo "holder (pid $holder) has the lock"
  t 30 flock -n -E 99 "$f" true
  rc=$?
  held=$(proc_state "$holder")
  echo "flock -n while held: exit status $rc (holder: $held)"
  rm -f /tmp/flock.release
  if wait_exit "$holder" 30; then
    wait "$holder" 2>/dev/null
    hrc=$?
  else
    hrc="none: still $WAIT_STATE 30s after release"
  fi
  cat /tmp/flock.holder.log
  [ "$held" = running ] || { bad "harness: the lock holder was no longer running ($held) when the second flock ran, so its refusal proves nothing"; return 1; }
  case $rc in
    99) ;;
    0) bad "p2pfs: flock -n got the lock while another process held it"; return 1 ;;
    124|137) bad "p2pfs: flock -n did not return within 30s while the lock was held"; return 1 ;;
    *) bad "p2pfs: flock -n failed with exit status $rc instead of reporting the lock as held (99)"; return 1 ;;
  esac
  [ "$hrc" = 0 ] || { bad "lock holder's exit status: $hrc, expected 0"; return 1; }
  t 30 flock -n -E 99 "$f" true
  rc=$?
  echo "flock -n after release: exit status $rc"
  [ "$rc" = 0 ] || { bad "p2pfs: flock -n after release: exit status $rc, expected 0"; return 1; }
  if [ "$VERS" = 3 ]; then
    port=$(nlm_port)
    echo "rpcbind's nlockmgr v4/tcp port after the locks: $port"
    [ "$port" = "$NFS_PORT" ] || { bad "rpcbind's nlockmgr v4/tcp port changed to $port during the check: which lock manager answered is unknown"; return 1; }
  else
    ops_after=$(lock_ops)
    lockd=$(lockd_threads)
    echo "NFSv4 LOCK operations after the check: $ops_after; kernel lockd threads: ${lockd:-none}"
    [ "$ops_after" -gt "$ops_before" ] 2>/dev/null \
      || { bad "the NFSv4 client sent no LOCK operation during the check ($ops_before before, $ops_after after): the locks did not travel in-band"; return 1; }
    [ -z "$lockd" ] || { bad "the kernel's NLM lock manager (lockd, pid $lockd) runs although the mount is NFSv4.1"; return 1; }
  fi
}

# lt_hold NAME SPEC...: start p2pfs-locktool holding SPEC on movies/KillBill
# in the background (pid in LT_PID) and wait (bounded) until it holds them.
# It releases them when /tmp/NAME.release is removed (lt_release).
lt_hold() {
  _lt=$1; shift
  rm -f "/tmp/$_lt.ready"; touch "/tmp/$_lt.release"
  "$LOCKTOOL" hold "$MNT/movies/KillBill" "/tmp/$_lt.ready" "/tmp/$_lt.release" "$@" > "/tmp/$_lt.log" 2>&1 &
  LT_PID=$!
  deadline "$LOCK_SECS"
  while [ ! -e "/tmp/$_lt.ready" ]; do
    case $(proc_state "$LT_PID") in zombie|gone) break ;; esac
    before_deadline || break
    sleep 0.1
  done
  [ -e "/tmp/$_lt.ready" ] && { echo "holder $_lt (pid $LT_PID) holds $*"; return 0; }
  rm -f "/tmp/$_lt.release"
  case $(proc_state "$LT_PID") in
    zombie|gone) wait "$LT_PID" 2>/dev/null; _st="p2pfs-locktool exited with status $?" ;;
    *) _st="no answer after ${LOCK_SECS}s"; kill -KILL "$LT_PID" 2>/dev/null; wait_exit "$LT_PID" 10 && wait "$LT_PID" 2>/dev/null ;;
  esac
  cat "/tmp/$_lt.log"
  bad "p2pfs: a process could not take the locks $* on movies/KillBill ($_st: $(tail -n 1 "/tmp/$_lt.log"))"
  return 1
}
# lt_release NAME: let the holder release its locks; LT_RC is its exit status
# (0: it saw no error while holding, reading and unlocking).
lt_release() {
  rm -f "/tmp/$1.release"
  if wait_exit "$LT_PID" "$LOCK_SECS"; then
    wait "$LT_PID" 2>/dev/null; LT_RC=$?
  else
    LT_RC="none: still $WAIT_STATE ${LOCK_SECS}s after release"
    kill -KILL "$LT_PID" 2>/dev/null; wait_exit "$LT_PID" 10 && wait "$LT_PID" 2>/dev/null
  fi
  sed 's/^/  holder: /' "/tmp/$1.log"
  echo "holder $1 exit status: $LT_RC"
}
# lt_try EXPECT SPEC...: another process tries SPEC on movies/KillBill;
# EXPECT granted or refused.
lt_try() {
  _want=$1; shift
  _out=$(t "$LOCK_SECS" "$LOCKTOOL" try "$MNT/movies/KillBill" "$@" 2>&1)
  _rc=$?
  echo "try $*: exit status $_rc: $_out" | tr '\n' ' '; echo
  case $_want:$_rc in granted:0|refused:99) return 0 ;; esac
  case $_rc in
    0) bad "p2pfs: fcntl/flock $* was granted to a second process, but conflicts with the holder's locks" ;;
    99) bad "p2pfs: $* was refused to a second process, but no lock held conflicts with it" ;;
    124|137) bad "p2pfs: trying $* without waiting did not return within ${LOCK_SECS}s" ;;
    *) bad "p2pfs: trying $* failed (exit status $_rc): $_out" ;;
  esac
  return 1
}

# fcntl byte-range locks between two processes: conflicting ranges refused
# (write/write, read/write, a lock to the end of the file), disjoint or
# shared (read/read) ones granted, and everything granted after release.
check_fcntl_ranges() {
  lt_hold ranges w:0:100 r:1000:100 || return 1
  rc=0
  lt_try refused w:50:10 || rc=1
  lt_try refused r:0:1 || rc=1
  lt_try refused w:99:1 || rc=1
  lt_try refused w:1050:0 || rc=1
  lt_try granted w:100:100 || rc=1
  lt_try granted r:200:800 || rc=1
  lt_try granted r:1000:100 || rc=1
  held=$(proc_state "$LT_PID")
  lt_release ranges
  [ "$held" = running ] || { bad "harness: the holder was no longer running ($held) during the tries"; return 1; }
  [ "$LT_RC" = 0 ] || { bad "p2pfs: the lock holder saw an error while holding, reading or unlocking (exit status $LT_RC)"; return 1; }
  lt_try granted w:50:10 || rc=1
  lt_try granted w:0:0 || rc=1
  return "$rc"
}

# A lock holder killed with SIGKILL: its lock is released (the client sends
# LOCKU/CLOSE as the process dies), so another process gets it in time.
check_killed_holder() {
  lt_hold killed f || return 1
  lt_try refused f || { kill -KILL "$LT_PID"; wait_exit "$LT_PID" 10; return 1; }
  kill -KILL "$LT_PID"
  wait_exit "$LT_PID" 10 || { bad "harness: the lock holder (pid $LT_PID) survived SIGKILL for 10s"; return 1; }
  wait "$LT_PID" 2>/dev/null
  echo "holder killed (exit status $?)"
  start=$(now)
  t "$LOCK_SECS" flock -x -w "$((LOCK_SECS - 5))" -E 99 "$MNT/movies/KillBill" true
  rc=$?
  echo "flock -x after the holder was killed: exit status $rc after $(elapsed "$start")s"
  case $rc in
    0) ;;
    99|124|137) bad "p2pfs: the lock of a holder killed with SIGKILL was still held $(elapsed "$start")s later"; return 1 ;;
    *) bad "p2pfs: flock -x after the holder was killed failed with exit status $rc"; return 1 ;;
  esac
}

# bare: the NFSv4.1 mount and its locks worked on a machine with no
# rpcbind, no statd and no lock manager: nothing of the kind was started.
check_no_rpc_services() {
  rc=0
  for p in rpcbind rpc.statd; do
    pids=$(pidof "$p")
    [ -z "$pids" ] || { bad "$p runs (pid $pids) on a machine where nothing started it"; rc=1; }
  done
  awk '$2 ~ /:006F$/ && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp \
    && { bad "something listens on port 111 (p2pfs runs with --portmap off)"; rc=1; }
  [ -e /run/rpcbind.sock ] && { bad "/run/rpcbind.sock exists (p2pfs runs with --portmap off)"; rc=1; }
  lockd=$(lockd_threads)
  [ -z "$lockd" ] || { bad "the kernel's lockd runs (pid $lockd)"; rc=1; }
  echo "rpcbind, rpc.statd, port 111, /run/rpcbind.sock, lockd: none"
  return "$rc"
}

# snapshot_sources: every entry of the exported trees with its type, mode,
# size, mtime, ctime and link target, and every regular file's md5.
snapshot_sources() {
  # shellcheck disable=SC2086 # SOURCES is a list of directories
  find $SOURCES -printf '%p %y %M %s %T@ %C@ %l\n' | LC_ALL=C sort
  find $SOURCES -type f -exec md5sum {} + | LC_ALL=C sort -k 2
}

# Writes must fail with EROFS ("Read-only file system") and change nothing:
# neither what the mount shows nor any exported source tree.
check_read_only() {
  rc=0
  snapshot_sources > /tmp/sources.before
  want=$(md5 < "$EXPECT/movies/KillBill")
  try() {   # try DESCRIPTION CMD...
    what=$1; shift
    out=$(t 30 "$@" 2>&1)
    st=$?
    echo "$what: exit status $st: $out"
    if [ "$st" -eq 0 ]; then bad "'$what' succeeded on the read-only share"; rc=1
    elif ! echo "$out" | grep -q 'Read-only file system'; then
      hint=""
      echo "$out" | grep -q 'Permission denied' && hint=" (EACCES: the server's ACCESS reply denied MODIFY, so the client never sent the write; EROFS needs ACCESS to allow it and the operation to fail with NFS3ERR_ROFS)"
      bad "'$what' failed, but not with 'Read-only file system': $out$hint"; rc=1
    fi
  }
  try "touch movies/new-file" touch "$MNT/movies/new-file"
  try "echo > movies/KillBill" sh -c "echo overwritten > $MNT/movies/KillBill"
  try "mkdir movies/new-dir" mkdir "$MNT/movies/new-dir"
  try "rm -f movies/TheMatrix" rm -f "$MNT/movies/TheMatrix"
  try "touch movies/KillBill" touch "$MNT/movies/KillBill"
  snapshot_sources > /tmp/sources.after
  if ! diff -u /tmp/sources.before /tmp/sources.after; then
    bad "p2pfs: the write attempts changed an exported source tree ($SOURCES; diff above)"; rc=1
  fi
  got=$(t 60 md5sum "$MNT/movies/KillBill" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { bad "KillBill changed after the write attempts (md5 $got)"; rc=1; }
  [ -e "$MNT/movies/TheMatrix" ] || { bad "TheMatrix disappeared from $MNT after rm"; rc=1; }
  [ -e "$MNT/movies/new-file" ] && { bad "movies/new-file appeared in $MNT after touch"; rc=1; }
  return "$rc"
}

# Restart the daemon that serves NFS while the share stays mounted: a
# directory that is the current directory, an already looked-up and open
# file, and fresh listings must keep working (no "Stale file handle").
check_restart_client() {
  cd "$MNT/movies/extras" || { bad "cd $MNT/movies/extras failed"; return 1; }
  exec 7< "$MNT/movies/KillBill" || { bad "cannot open movies/KillBill"; cd /; return 1; }
  t 30 stat "$MNT/movies/TheMatrix" > /dev/null
  want_kb=$(md5 < "$EXPECT/movies/KillBill")
  want_tm=$(md5 < "$EXPECT/movies/TheMatrix")
  # NFSv4.1: a process holds a byte-range lock across the restart; it must
  # see no error and still hold the lock afterwards (the client recovers it).
  holding=0
  if [ "$VERS" = 4.1 ]; then
    lt_hold restart w:0:100 || { exec 7<&-; cd /; return 1; }
    holding=1
  fi
  give_up() { exec 7<&-; cd /; [ "$holding" = 1 ] && lt_release restart; }
  echo "stopping $CLIENT (SIGTERM)"
  stop_daemon "$CLIENT" TERM || { give_up; return 1; }
  start_client
  wait_nfs "$CLIENT" "$NFS_READY_SECS" || { give_up; daemon_tails; return 1; }
  drop_caches
  start=$(now)
  ok=0
  # A peer-to-peer client may need a moment to find its peers again; stale
  # file handles, however, are never acceptable.
  deadline 60
  while :; do
    r1=$(t 30 md5sum /proc/self/fd/7 2>&1); r1=${r1%% *}
    r2=$(t 30 ls . 2>&1)
    r3=$(t 30 ls "$MNT/movies" 2>&1)
    r4=$(t 60 md5sum "$MNT/movies/TheMatrix" 2>&1); r4=${r4%% *}
    all="$r1 $r2 $r3 $r4"
    case $all in *[Ss]tale*)
      echo "$all"; give_up; bad "Stale file handle after restarting $CLIENT: $all"; return 1 ;;
    esac
    if [ "$r1" = "$want_kb" ] && [ "$r4" = "$want_tm" ] \
       && echo "$r2" | grep -q making-of && echo "$r3" | grep -q KillBill && echo "$r3" | grep -q TheMatrix; then
      ok=1; break
    fi
    before_deadline || break
    sleep 1
  done
  exec 7<&-
  cd /
  echo "open file: $r1"; echo "cwd listing: $r2"; echo "movies listing: $r3"; echo "TheMatrix: $r4"
  daemon_state "$CLIENT"
  [ "$ok" = 1 ] || { [ "$holding" = 1 ] && lt_release restart; bad "after restarting $CLIENT the mount does not work again within 60s (last: $all; $DSTATE)"; return 1; }
  echo "mount usable $(elapsed "$start")s after the restarted daemon answered"
  [ "$holding" = 1 ] || return 0
  rc=0
  lt_try refused w:50:10 || { bad "p2pfs: after restarting $CLIENT, the lock held across the restart is no longer held"; rc=1; }
  held=$(proc_state "$LT_PID")
  lt_release restart
  [ "$held" = running ] || { bad "p2pfs: the process holding a lock across the restart exited early ($held, status $LT_RC)"; return 1; }
  [ "$LT_RC" = 0 ] || { bad "p2pfs: the process holding a lock across the restart saw an error (exit status $LT_RC)"; return 1; }
  lt_try granted w:0:100 || rc=1
  return "$rc"
}

# Kill node b (holder of TheMatrix): reading TheMatrix must fail quickly
# rather than hang on the hard mount.
check_kill_holder() {
  stop_daemon b KILL || return 1
  echo "node b killed"
  drop_caches
  start=$(now)
  out=$(t 30 cat "$MNT/movies/TheMatrix" 2>&1 >/dev/null)
  rc=$?
  took=$(elapsed "$start")
  echo "cat movies/TheMatrix: exit $rc after ${took}s: $out"
  case $rc in
    0) bad "reading TheMatrix succeeded although its only holder (b) is dead (served from a copy cached by $CLIENT?)"; return 1 ;;
    124|137) bad "reading TheMatrix hung: killed after 30s"; return 1 ;;
  esac
  awk -v t="$took" -v l="$DEAD_READ_LIMIT" 'BEGIN { exit !(t <= l) }' \
    || { bad "reading TheMatrix failed, but only after ${took}s (limit ${DEAD_READ_LIMIT}s)"; return 1; }
}

check_survivor_read() {   # node a is alive: its file still reads correctly
  want=$(md5 < "$EXPECT/movies/KillBill")
  got=$(t 60 md5sum "$MNT/movies/KillBill" 2>&1 | cut -d' ' -f1)
  [ "$got" = "$want" ] || { bad "md5sum movies/KillBill after b died: $got, expected $want"; return 1; }
}

check_umount() {
  cd /
  t 60 umount "$MNT"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    users=""
    for d in /proc/[0-9]*; do     # processes with a cwd or open file under $MNT
      for l in "$d/cwd" "$d"/fd/*; do
        case $(readlink "$l" 2>/dev/null) in
          "$MNT"|"$MNT"/*) users="$users ${d#/proc/}"
            echo "still using $MNT: pid ${d#/proc/}: $(tr '\0' ' ' < "$d/cmdline" 2>/dev/null)"
            break ;;
        esac
      done
    done
    bad "umount $MNT failed (exit status $rc)${users:+; processes still using it:$users}"
    return 1
  fi
  MOUNTED=0
  grep -q " $MNT " /proc/mounts && { bad "$MNT is still in /proc/mounts after umount"; return 1; }
  return 0
}

# Mount, lock the instant mount returns, unmount: REMOUNTS times, each on a
# fresh mount. On NFSv3 each first mount starts the kernel's lockd anew
# (the last umount stopped it), which takes NLM's rpcbind entry again: one
# lucky run of flock-right-after-mount proves little about a race.
REMOUNTS=8
check_remount_flock_now() {
  _fails=0
  _i=1
  while [ "$_i" -le "$REMOUNTS" ]; do
    # shellcheck disable=SC2086 # MOUNT_OPTS is empty or two words
    if ! t 60 mount -t nfs $MOUNT_OPTS localhost:/ "$MNT"; then
      bad "p2pfs: mount $_i of $REMOUNTS failed"
      return 1
    fi
    read -r _ls _ < /proc/uptime   # no fork between mount and flock
    t "$LOCK_SECS" flock -x -w 20 -E 99 "$MNT/movies/KillBill" true
    _rc=$?
    _took=$(elapsed "$_ls")
    echo "mount $_i: flock -x the instant mount returned: exit status $_rc after ${_took}s"
    [ "$VERS" = 3 ] && echo "    rpcbind nlockmgr v4/tcp: $(nlm_port)"
    [ "$_rc" = 0 ] || _fails=$((_fails + 1))
    # Which takeovers of NLM's rpcbind entry p2pfs repaired, and what noticed them.
    _seen=$(grep -c 'rpcbind entry was replaced' "/var/log/p2pfs-$CLIENT.log" 2>/dev/null)
    grep 'rpcbind entry was replaced' "/var/log/p2pfs-$CLIENT.log" 2>/dev/null | tail -n "+$((${_repairs:-0} + 1))" | sed 's/^/    daemon: /'
    _repairs=$_seen
    if ! t 60 umount "$MNT"; then
      t 20 umount -f -l "$MNT" 2>/dev/null
      bad "p2pfs: umount after mount $_i of $REMOUNTS failed"
      return 1
    fi
    _i=$((_i + 1))
  done
  [ "$_fails" = 0 ] || { bad "p2pfs: $_fails of $REMOUNTS flocks taken the instant mount returned failed or did not finish within ${LOCK_SECS}s"; return 1; }
}

# --- run --------------------------------------------------------------------------
echo "guest-checks: scenario $SCENARIO"
run_check sources prepare_sources || exit 1

if [ "$SCENARIO" = peers ]; then
  run_check daemons check_daemons_peers
else
  run_check daemons check_daemons_single
fi

# NFSv3 mounts find MOUNT and NLM through rpcbind (the system's, or p2pfs's
# own in scenario embedded); an NFSv4.1 mount needs no registration.
if [ "$VERS" = 4.1 ] && [ "$SCENARIO" != embedded ]; then
  report SKIP rpcbind-registration "an NFSv4.1 mount uses no rpcbind registration (checked with P2PFS_MOUNT_VERS=3 and scenario embedded)"
elif [ "$NFS_UP" = 1 ]; then
  run_check rpcbind-registration check_rpcbind_registration
else
  report SKIP rpcbind-registration "no NFS service is up"
fi

# The mount is tried when a daemon is running, even if it did not answer the
# readiness probe: what mount(8) says is the most useful diagnosis then.
if [ "$NFS_UP" = 1 ] || alive "$(pid_of "$CLIENT")"; then
  run_check mount check_mount
else
  report SKIP mount "the NFS-serving daemon is not running"
fi

need_mount flock-right-after-mount check_flock_now
[ "$SCENARIO" = peers ] && need_mount converge check_converge
need_mount ls-lR check_ls_lR
need_mount find check_find
need_mount stat check_stat
need_mount cat-md5sum check_cat_md5sum
need_mount byte-name check_byte_name
need_mount empty-file check_empty_file
need_mount cp-r check_cp_r
need_mount du check_du
need_mount tar check_tar
need_mount dd-offsets check_dd_offsets
need_mount head-c check_head_c
[ "$SCENARIO" = peers ] || need_mount local-reads check_local_reads
if [ "$VERS" = 3 ]; then
  need_mount flock-conflict-p2pfs-nlm check_flock
else
  need_mount flock-conflict-nfs4 check_flock
  need_mount fcntl-byte-ranges check_fcntl_ranges
  need_mount killed-holder-lock-released check_killed_holder
fi
need_mount read-only check_read_only
need_mount restart-client-daemon check_restart_client
if [ "$SCENARIO" = peers ]; then
  need_mount kill-holder-node check_kill_holder
  need_mount survivor-read check_survivor_read
else
  report SKIP kill-holder-node "scenario $SCENARIO: the only node also serves NFS"
fi
[ "$SCENARIO" = bare ] && need_mount no-rpcbind-statd-lockd check_no_rpc_services
need_mount umount check_umount
if [ "$MOUNTED" = 0 ] && grep -q '^PASS umount' "$RESULTS"; then
  run_check remount-flock-now check_remount_flock_now
else
  report SKIP remount-flock-now "the first mount was not unmounted cleanly"
fi

# Leave nothing mounted or running.
if [ "$MOUNTED" = 1 ]; then t 20 umount -f -l "$MNT" 2>/dev/null; fi
# Every daemon still running must stop on SIGTERM with status 0 (or 143);
# one that exited on its own earlier crashed, and fails this check.
stop_all_daemons() {
  _rc=0
  for n in a b c solo; do stop_daemon "$n" TERM || _rc=1; done
  return "$_rc"
}
run_check daemons-exit stop_all_daemons
if grep -q '^FAIL ' "$RESULTS"; then
  echo "---- daemon logs ----"
  daemon_tails | sed 's/^/    /'
fi

grep -q '^FAIL ' "$RESULTS" && exit 1
exit 0
