#!/usr/bin/env python3
"""p2pfs benchmark: p2pfs side by side with NFS-Ganesha over NFSv3 and NFSv4.1.

Creates a data set, serves it with NFS-Ganesha (VFS FSAL) and with p2pfs,
runs the same workloads against both with independent NFS clients
(Benchmarks/bin/nfsload, built on libnfs, for NFSv3; Benchmarks/bin/nfs4load,
a minimal client of its own, for NFSv4.1), alternating servers round by
round, and prints the medians:

    workload | p2pfs | ganesha | ratio (p2pfs/ganesha, higher is better)

The table is also written as JSON to bench-results.json in the repository
root.  Every server and client runs inside a private network namespace
(p2pfs-bench-PID) that has only a loopback interface; the namespace and all
started processes are removed on exit, including on Ctrl-C.

Usage (as root):  python3 Benchmarks/bench.py [--smoke] [--rounds N] ...
See Docs/performance.md.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "Benchmarks"
BIN = BENCH / "bin"
NFSLOAD = BIN / "nfsload"
NFS4LOAD = BIN / "nfs4load"
TCPCEILING = BIN / "tcpceiling"
SIMULATOR_NAME = "p2pfs-peer-simulator"
LOADARGS = [BENCH / "loadcommon" / "loadargs.c"]
LOADWORK = [BENCH / "loadcommon" / "loadwork.c"]
# Each tool: the sources compiled into it (as the Makefile's bench-tools) and
# its libraries.  A tool is rebuilt when any of them, or a header beside
# them, is newer.
TOOL_SOURCES = {
    NFSLOAD: ([BENCH / "nfsload" / "nfsload.c"] + LOADARGS + LOADWORK, ["-lnfs", "-lm"]),
    NFS4LOAD: ([BENCH / "nfs4load" / "nfs4load.c"] + LOADARGS + LOADWORK, ["-lm"]),
    TCPCEILING: ([BENCH / "tcpceiling" / "tcpceiling.c"] + LOADARGS, ["-lm"]),
}
GANESHA_TEMPLATE = BENCH / "ganesha.conf.in"
NS_PREFIX = "p2pfs-bench-"
EXPORT_NAME = "bench"          # p2pfs: --export bench=DATA; Ganesha: Pseudo=/bench
DATA_LAYOUT_VERSION = 1

# Workload identifiers, in table order.  The "41" ones are the NFSv4.1
# counterparts of the first four (nfs4load), on the same files.
WORKLOADS = ["seqread", "randread", "meta", "readdirplus",
             "seqread41", "randread41", "meta41", "readdir41", "forwarded", "nsscale", "discovery", "metrics",
             "exportscale"]
V41_WORKLOADS = ("seqread41", "randread41", "meta41", "readdir41")
# Issue 16: one request in flight, forwarding against Ganesha's proxy FSAL,
# forwarding across a shaped link (LinkedWorkloads).
WORKLOADS += ["seqread1", "fwdproxy", "shaped"]


class BenchError(Exception):
    pass


class Interrupted(BaseException):
    """Raised from SIGTERM/SIGHUP handlers so that cleanup runs."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:g} {unit}" if unit == "B" else f"{n:.4g} {unit}"
        n /= 1024
    return str(n)


# --------------------------------------------------------------------------
# options

def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size: {text}")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(m.group(1)) * mult


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark p2pfs against NFS-Ganesha over NFSv3 and NFSv4.1 (loopback, private netns).")
    p.add_argument("--smoke", action="store_true",
                   help="tiny data set and short runs (finishes in seconds)")
    p.add_argument("--rounds", type=int, help="rounds per workload (median is reported); "
                   "default 5, smoke 1")
    p.add_argument("--p2pfs", default=str(REPO / ".build" / "release" / "p2pfs"),
                   help="p2pfs binary (default .build/release/p2pfs)")
    p.add_argument("--p2pfs-plaintext", metavar="PATH",
                   help="a p2pfs binary whose peers talk plaintext, the reference of the forwarded first read "
                        "over TLS (target 0.8x): `make bench-plaintext` builds this code so "
                        "(.build-plaintext/release/p2pfs; `make bench` passes it); without it that row is left out")
    p.add_argument("--p2pfs-port", type=int, default=2050,
                   help="NFS port of p2pfs inside the namespace (default 2050)")
    p.add_argument("--p2pfs-mount-port", type=int,
                   help="MOUNT port of p2pfs (default: same as --p2pfs-port)")
    p.add_argument("--p2pfs-arg", action="append", default=[],
                   help="extra argument for 'p2pfs daemon' (repeatable)")
    p.add_argument("--ganesha", default=shutil.which("ganesha.nfsd") or "/usr/bin/ganesha.nfsd",
                   help="ganesha.nfsd binary")
    p.add_argument("--ganesha-port", type=int, default=2049, help="Ganesha NFS port (default 2049)")
    p.add_argument("--ganesha-mount-port", type=int, default=20048,
                   help="Ganesha MOUNT port (default 20048)")
    p.add_argument("--servers", default="p2pfs,ganesha",
                   help="comma list of servers to run (default p2pfs,ganesha)")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma list of workloads (default all: %s)" % ",".join(WORKLOADS))
    p.add_argument("--data-dir", help="data set directory (reused when its parameters match; "
                   "default /var/tmp/p2pfs-bench/data[-smoke])")
    p.add_argument("--work-dir", help="per-run directory for configs, logs and state "
                   "(default /var/tmp/p2pfs-bench/run-PID, removed unless --keep-work)")
    p.add_argument("--keep-work", action="store_true", help="keep the per-run directory")
    p.add_argument("--results", default=str(REPO / "bench-results.json"),
                   help="JSON output (default bench-results.json in the repo root)")
    # data set
    p.add_argument("--file-size", type=parse_size, help="sequential/random read file "
                   "(default 1GiB, smoke 16MiB)")
    p.add_argument("--tree-files", type=int, help="files in the nested tree (default 10000, smoke 300)")
    p.add_argument("--flat-entries", type=int,
                   help="entries in the flat directory (default 100000, smoke 2000)")
    # workload knobs
    p.add_argument("--seq-block", type=parse_size, default=1 << 20)
    p.add_argument("--seq-inflight", type=int, default=16)
    p.add_argument("--no-verify", action="store_true",
                   help="skip the untimed seqread pass that compares the data with the source file")
    p.add_argument("--rand-block", type=parse_size, default=4096)
    p.add_argument("--rand-inflight", type=int, default=32)
    p.add_argument("--rand-seconds", type=float, help="default 10, smoke 1")
    p.add_argument("--meta-inflight", type=int, default=32)
    p.add_argument("--meta-seconds", type=float, help="default 10, smoke 1")
    p.add_argument("--readdir-repeat", type=int, help="passes per run (default 3, smoke 1)")
    p.add_argument("--readdir-dircount", type=int, default=65536)
    p.add_argument("--readdir-maxcount", type=int, default=1048576)
    p.add_argument("--tcp-bytes", type=parse_size, help="bytes for the TCP ceiling "
                   "(default 4GiB, smoke 256MiB)")
    p.add_argument("--simulator", default=str(REPO / ".build" / "release" / "p2pfs-peer-simulator"),
                   help="the peer simulator binary for workload 6 (default: %(default)s)")
    p.add_argument("--scale-peers", type=int, help="simulated peers (default 100, smoke 10)")
    p.add_argument("--scale-files", type=int, help="files per simulated peer (default 10000, smoke 1000)")
    p.add_argument("--export-files", type=int,
                   help="files exported by the node of workload exportscale (default 1000000, smoke 20000)")
    p.add_argument("--export-dirs", type=int, help="directories they are spread over (default 1000, smoke 100)")
    p.add_argument("--idle-seconds", type=float, help="idle CPU window of exportscale (default 60, smoke 5)")
    p.add_argument("--forward-cache-mib", type=int, default=1536,
                   help="block cache of the forwarding client, MiB (default %(default)s: holds the whole file)")
    p.add_argument("--start-timeout", type=float, default=60.0,
                   help="seconds to wait for a server to answer (default 60)")
    p.add_argument("--rpc-timeout", type=float, default=30.0,
                   help="per-RPC timeout given to nfsload and nfs4load (default 30)")
    a = p.parse_args(argv)

    smoke = a.smoke
    defaults = {
        "rounds": (5, 1),
        "file_size": (1 << 30, 16 << 20),
        "tree_files": (10000, 300),
        "flat_entries": (100000, 2000),
        "rand_seconds": (10.0, 1.0),
        "meta_seconds": (10.0, 1.0),
        "readdir_repeat": (3, 1),
        "tcp_bytes": (4 << 30, 256 << 20),
        "scale_peers": (100, 10),
        "scale_files": (10000, 1000),
        "export_files": (1000000, 20000),
        "export_dirs": (1000, 100),
        "idle_seconds": (60.0, 5.0),
    }
    for key, (full, small) in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, small if smoke else full)
    if a.p2pfs_mount_port is None:
        a.p2pfs_mount_port = a.p2pfs_port
    if a.data_dir is None:
        a.data_dir = "/var/tmp/p2pfs-bench/data-smoke" if smoke else "/var/tmp/p2pfs-bench/data"
    if a.work_dir is None:
        a.work_dir = f"/var/tmp/p2pfs-bench/run-{os.getpid()}"
    a.servers = [s for s in a.servers.split(",") if s]
    a.workloads = [w for w in a.workloads.split(",") if w]
    for s in a.servers:
        if s not in ("p2pfs", "ganesha"):
            p.error(f"unknown server {s}")
    for w in a.workloads:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w}")
    if not 1 <= a.rounds <= 50:
        p.error("--rounds must be between 1 and 50")
    if a.file_size < max(a.seq_block, a.rand_block):
        p.error("--file-size must be at least one block")
    if a.export_files < 1 or not 1 <= a.export_dirs <= a.export_files:
        p.error("--export-files must be positive and --export-dirs between 1 and --export-files")
    if a.tree_files < 1 or a.flat_entries < 1:
        p.error("--tree-files and --flat-entries must be positive")
    return a


# --------------------------------------------------------------------------
# tools

def ensure_tools():
    """Builds the C tools if they are missing or older than their source."""
    for binary, (sources, libs) in TOOL_SOURCES.items():
        inputs = sources + [h for s in sources for h in s.parent.glob("*.h")]
        if binary.exists() and binary.stat().st_mtime >= max(f.stat().st_mtime for f in inputs):
            continue
        BIN.mkdir(parents=True, exist_ok=True)
        cmd = ["gcc", "-O2", "-Wall", "-o", str(binary)] + [str(s) for s in sources] + libs
        log("building " + " ".join(cmd))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError(f"building {binary.name} failed:\n{r.stderr}")


# --------------------------------------------------------------------------
# data set

def data_params(a):
    return {
        "layout": DATA_LAYOUT_VERSION,
        "file_size": a.file_size,
        "tree_files": a.tree_files,
        "flat_entries": a.flat_entries,
    }


def tree_layout(n):
    """Nested tree: top/mid/leaf dirs with up to 100 files per leaf."""
    per_leaf = 100
    leaves = max(1, -(-n // per_leaf))
    fanout = max(1, int(round(leaves ** 0.5)))
    return per_leaf, leaves, fanout


def make_data(a):
    data = Path(a.data_dir)
    stamp = data / ".bench-data.json"
    params = data_params(a)
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()) == params:
                log(f"reusing data set in {data}")
                return data
        except (OSError, ValueError):
            pass
    log(f"creating data set in {data}: {human_bytes(a.file_size)} file, "
        f"{a.tree_files} file tree, {a.flat_entries} entry flat directory")
    t0 = time.monotonic()
    if data.exists():
        shutil.rmtree(data)
    for old in data.parent.glob(data.name + ".tmp-*") if data.parent.is_dir() else []:
        pid = old.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not pid_alive(int(pid)) or int(pid) == os.getpid():
            shutil.rmtree(old, ignore_errors=True)     # left by an interrupted run
    tmp = data.with_name(data.name + f".tmp-{os.getpid()}")
    tmp.mkdir(parents=True)
    try:
        fill_data(tmp, a)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / ".bench-data.json").write_text(json.dumps(params))
    os.chmod(tmp, 0o755)
    tmp.rename(data)
    os.sync()   # no writeback of the new data while measuring
    log(f"data set ready in {time.monotonic() - t0:.1f} s")
    return data


def fill_data(tmp, a):
    """Writes the three parts of the data set into tmp."""
    # 1. big file of pseudo-random bytes (deterministic: SHAKE-128 of a counter)
    chunk = 1 << 20
    with open(tmp / "big.bin", "wb") as f:
        left, i = a.file_size, 0
        while left > 0:
            n = min(chunk, left)
            f.write(hashlib.shake_128(b"p2pfs-bench:%d" % i).digest(n))
            left -= n
            i += 1

    # 2. nested tree: tree/dAA/dBB/fNNNNNN, small files of varying size
    per_leaf, leaves, fanout = tree_layout(a.tree_files)
    made = 0
    for leaf in range(leaves):
        d = tmp / "tree" / f"d{leaf // fanout:03d}" / f"d{leaf % fanout:03d}"
        d.mkdir(parents=True, exist_ok=True)
        for _ in range(min(per_leaf, a.tree_files - made)):
            size = (made * 37) % 4096
            with open(d / f"f{made:06d}", "wb") as f:
                f.write((b"%06d\n" % made) * (size // 7 + 1))
            made += 1

    # 3. flat directory of empty files
    flat = tmp / "flat"
    flat.mkdir()
    for i in range(a.flat_entries):
        fd = os.open(flat / f"entry-{i:07d}", os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)


def warm_caches(data):
    """Reads the data once so that neither server pays for a cold page cache."""
    t0 = time.monotonic()
    with open(data / "big.bin", "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
    for root, dirs, files in os.walk(data):
        for name in files:
            os.stat(os.path.join(root, name))
    log(f"warmed page and dentry caches in {time.monotonic() - t0:.1f} s")


def make_export_scale_data(a):
    """The export of workload exportscale: --export-files empty files spread
    evenly over --export-dirs directories (scale/dNNNN/fNNNNNNN), created
    with bare open/close calls and kept for later runs like the main data
    set (a stamp with its parameters, written last)."""
    data = Path(a.data_dir).parent / f"export-{a.export_files}x{a.export_dirs}"
    stamp = data / ".bench-data.json"
    params = {"files": a.export_files, "dirs": a.export_dirs}
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()) == params:
                log(f"reusing export scale data set in {data}")
                return data
        except (OSError, ValueError):
            pass
    log(f"creating export scale data set in {data}: {a.export_files} files in {a.export_dirs} directories")
    t0 = time.monotonic()
    shutil.rmtree(data, ignore_errors=True)
    scale = data / "scale"
    scale.mkdir(parents=True)
    per_dir = -(-a.export_files // a.export_dirs)
    flags = os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC
    made = 0
    for d in range(a.export_dirs):
        (scale / f"d{d:04d}").mkdir()
        directory = os.open(scale / f"d{d:04d}", os.O_RDONLY | os.O_DIRECTORY)
        try:
            for _ in range(min(per_dir, a.export_files - made)):
                os.close(os.open(f"f{made:07d}", flags, 0o644, dir_fd=directory))
                made += 1
        finally:
            os.close(directory)
    stamp.write_text(json.dumps(params))
    os.sync()
    log(f"export scale data set ready in {time.monotonic() - t0:.1f} s")
    return data


def warm_dentries(root):
    """stat()s every entry under root (du), so the first scan finds a warm
    dentry and inode cache, as on a server that has been up a while."""
    t0 = time.monotonic()
    subprocess.run(["du", "-s", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    log(f"warmed dentry cache of {root} in {time.monotonic() - t0:.1f} s")


# --------------------------------------------------------------------------
# network namespace and processes

def run_host(cmd, timeout=30, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


def netns_pids(name):
    r = run_host(["ip", "netns", "pids", name], check=False)
    if r.returncode != 0:
        return []
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def kill_netns(name):
    """Kills every process in the namespace and deletes it (bounded)."""
    for attempt in range(50):
        pids = netns_pids(name)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    run_host(["ip", "netns", "del", name], check=False)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cleanup_stale_namespaces():
    """Removes namespaces left by runs that were killed with SIGKILL."""
    r = run_host(["ip", "netns", "list"], check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(NS_PREFIX + r"(\d+)(?:-[a-z]+)?", name)     # -near: LinkedWorkloads
        if not m:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and pid_alive(pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                cmdline = b""
            if b"bench.py" in cmdline:
                continue
        log(f"removing stale namespace {name}")
        kill_netns(name)
        stale_work = Path(f"/var/tmp/p2pfs-bench/run-{pid}")
        if stale_work.is_dir():
            shutil.rmtree(stale_work, ignore_errors=True)


class Sandbox:
    """A private network namespace with its own /run (for rpcbind).

    Every process is started as
        ip netns exec NS unshare --mount --propagation private -- \
            sh -c 'mount --bind RUNDIR /run && exec "$@"' ...
    so that the namespace's rpcbind and Ganesha share a private /run
    (rpcbind.sock, rpcbind.lock) instead of the host's."""

    def __init__(self, work, suffix=None):
        self.name = f"{NS_PREFIX}{os.getpid()}" + (f"-{suffix}" if suffix else "")
        self.work = work
        self.rundir = work / "run"
        self.procs = []      # (label, Popen)
        self.created = False

    def create(self):
        self.rundir.mkdir(parents=True, exist_ok=True)
        rpcdir = self.rundir / "rpcbind"
        rpcdir.mkdir(exist_ok=True)
        try:
            import pwd
            shutil.chown(rpcdir, user=pwd.getpwnam("_rpc").pw_uid)
        except (KeyError, ImportError):
            pass
        run_host(["ip", "netns", "add", self.name])
        self.created = True
        run_host(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"])
        links = run_host(["ip", "netns", "exec", self.name, "ip", "-o", "link", "show"]).stdout
        names = [l.split(":")[1].strip() for l in links.splitlines() if ":" in l]
        if names != ["lo"]:
            raise BenchError(f"namespace {self.name} has unexpected links: {names}")
        log(f"network namespace {self.name} (loopback only)")

    def wrap(self, argv):
        return ["ip", "netns", "exec", self.name, "unshare", "--mount", "--propagation", "private",
                "--", "sh", "-c", 'mount --bind "$0" /run && exec "$@"', str(self.rundir)] + \
               [str(x) for x in argv]

    def start(self, label, argv, logfile):
        out = open(logfile, "ab")
        try:
            proc = subprocess.Popen(self.wrap(argv), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        self.procs.append((label, proc))
        return proc

    def run(self, argv, timeout):
        """Runs a client to completion; returns (rc, stdout, stderr)."""
        proc = subprocess.Popen(self.wrap(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, text=True)
        self.procs.append(("client", proc))
        try:
            out, err = proc.communicate(timeout=timeout)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            self._killpg(proc, signal.SIGKILL)
            out, err = proc.communicate(timeout=10)
            return None, out, (err or "") + f"\n(killed after {timeout:.0f} s)"
        finally:
            if proc.poll() is None:
                self._killpg(proc, signal.SIGKILL)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            self.procs = [(l, p) for (l, p) in self.procs if p is not proc]

    @staticmethod
    def _killpg(proc, sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, proc, grace=30.0):
        """SIGTERM, then SIGKILL after `grace` s. Returns None when the
        process stopped as asked (exit 0 or SIGTERM), else why not."""
        if proc.poll() is not None:
            return f"had already exited with status {proc.returncode}"
        self._killpg(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._killpg(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                return f"still running 5 s after SIGKILL ({grace:.0f} s after SIGTERM)"
            return f"did not exit within {grace:.0f} s of SIGTERM (killed)"
        if proc.returncode not in (0, -signal.SIGTERM):
            return f"exited with status {proc.returncode} on SIGTERM"
        return None

    def listening(self, port):
        """True when something listens on TCP port inside the namespace."""
        r = subprocess.run(["ip", "netns", "exec", self.name, "cat", "/proc/net/tcp",
                            "/proc/net/tcp6"], capture_output=True, text=True, timeout=10)
        for line in r.stdout.splitlines()[1:]:
            f = line.split()
            if len(f) > 3 and f[3] == "0A" and ":" in f[1]:
                if int(f[1].rsplit(":", 1)[1], 16) == port:
                    return True
        return False

    def close(self):
        live = [(l, p) for (l, p) in self.procs if p.poll() is None]
        for _, p in live:
            self._killpg(p, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for label, p in live:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{label} (pid {p.pid}) did not stop on SIGTERM; killing")
                self._killpg(p, signal.SIGKILL)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []
        if self.created:
            kill_netns(self.name)
            self.created = False
            log(f"removed namespace {self.name}")


# --------------------------------------------------------------------------
# servers

def nfs_url(port=None, mount_port=None):
    url = f"nfs://127.0.0.1/{EXPORT_NAME}"
    if port:
        url += f"?nfsport={port}&mountport={mount_port or port}"
    return url


def cpu_seconds(pid):
    """User plus system CPU time of a process so far (from /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds_precise(pid):
    """CPU time of all of a process's threads so far, in nanosecond units
    (/proc/PID/task/*/schedstat), or None. Clock ticks (`cpu_seconds`) are
    10 ms: too coarse for a 16 MiB smoke round."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            continue        # a thread that ended meanwhile
    return total / 1e9


def tail(path, lines=15):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def wait_ready(sb, proc, url, timeout, label):
    """Probes the server until MNT + GETATTR succeed or timeout/exit."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        rc, out, err = sb.run([NFSLOAD, "probe", "--url", url, "--timeout", "3", "--deadline", "8"],
                              timeout=15)
        if rc == 0:
            return None
        last = (err or "").strip().splitlines()[-1:] or [""]
        last = last[0]
        time.sleep(0.3)
    return f"not answering after {timeout:.0f} s ({last})"


def wait_ready_v41(sb, proc, url, timeout):
    """Probes NFSv4.1 (session, PUTROOTFH + LOOKUP of the export, GETATTR)
    until it answers, the server exits or the bound passes."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        rc, out, err = sb.run([NFS4LOAD, "probe", "--url", url, "--timeout", "3", "--deadline", "8"],
                              timeout=15)
        if rc == 0:
            return None
        last = ((err or "").strip().splitlines()[-1:] or [""])[0]
        time.sleep(0.3)
    return f"NFSv4.1 not answering after {timeout:.0f} s ({last})"


def check_v41(sb, srv, a):
    """Sets srv.url4 once the server answers NFSv4.1 (only when a v4.1
    workload is asked for); a server that does not gets its v4.1 rows
    marked FAIL, and the run fails."""
    if not srv.running or not any(w in a.workloads for w in V41_WORKLOADS):
        return
    err = wait_ready_v41(sb, srv.proc, srv.url4_candidate, a.start_timeout)
    if err:
        srv.v41_error = err
        log(f"{srv.name}: {err}")
    else:
        srv.url4 = srv.url4_candidate
        log(f"{srv.name} answers NFSv4.1 at {srv.url4}")


def wait_listing(sb, srv, a):
    """Waits until the server lists the whole flat directory, so that a
    server that indexes its export in the background is measured only once
    the data set is fully visible.  A timeout here is only logged: the
    readdirplus workload then reports the failure."""
    deadline = time.monotonic() + a.start_timeout
    last = ""
    while time.monotonic() < deadline:
        if not srv.running:
            return
        rc, out, err = sb.run([NFSLOAD, "readdirplus", "--url", srv.url, "--dir", "flat",
                               "--expect", str(a.flat_entries), "--timeout", str(a.rpc_timeout),
                               "--deadline", "120"], timeout=135)
        if rc == 0:
            return
        last = (err or "").strip().splitlines()[-1:] or [""]
        last = last[0]
        time.sleep(0.5)
    log(f"{srv.name} does not list {a.flat_entries} entries in flat/ after "
        f"{a.start_timeout:.0f} s ({last}); measuring anyway")


class Server:
    def __init__(self, name):
        self.name = name
        self.status = "not started"    # "running" | "absent" | "failed: ..."
        self.url = None
        self.url4 = None                # set once NFSv4.1 answers (check_v41)
        self.url4_candidate = None
        self.v41_error = None
        self.proc = None
        self.log = None
        self.detail = {}

    @property
    def running(self):
        return self.status == "running" and (self.proc is None or self.proc.poll() is None)


def start_rpcbind(sb):
    rpcbind = shutil.which("rpcbind") or "/usr/sbin/rpcbind"
    if not Path(rpcbind).exists():
        raise BenchError("rpcbind is not installed")
    proc = sb.start("rpcbind", [rpcbind, "-f", "-w"], sb.work / "rpcbind.log")
    deadline = time.monotonic() + 60      # generous: a bound, not a delay
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"rpcbind exited: {tail(sb.work / 'rpcbind.log')}")
        if sb.listening(111):
            return proc
        time.sleep(0.1)
    raise BenchError("rpcbind is running but did not listen on port 111 within 60 s")


def plugins_dir():
    for cand in ("/usr/lib/x86_64-linux-gnu/ganesha", "/usr/lib/aarch64-linux-gnu/ganesha",
                 "/usr/lib64/ganesha", "/usr/lib/ganesha"):
        if (Path(cand) / "libfsalvfs.so").exists():
            return cand
    hits = list(Path("/usr/lib").glob("*/ganesha/libfsalvfs.so"))
    return str(hits[0].parent) if hits else "/usr/lib/ganesha"


def start_ganesha(sb, a, data):
    srv = Server("ganesha")
    binary = Path(a.ganesha)
    if not binary.exists():
        srv.status = f"absent ({binary} not found)"
        return srv
    conf = sb.work / "ganesha.conf"
    text = GANESHA_TEMPLATE.read_text()
    for key, value in {
        "NFS_PORT": a.ganesha_port,
        "MNT_PORT": a.ganesha_mount_port,
        "DATA_DIR": data,
        "PSEUDO": "/" + EXPORT_NAME,
        "WORK_DIR": sb.work,
        "PLUGINS_DIR": plugins_dir(),
        "MDCACHE_ENTRIES": max(100000, 2 * (a.tree_files + a.flat_entries) + 10000),
    }.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise BenchError(f"unreplaced placeholders in {GANESHA_TEMPLATE}: {leftover}")
    conf.write_text(text)
    (sb.work / "ganesha-recovery").mkdir(exist_ok=True)
    srv.log = sb.work / "ganesha.log"
    srv.proc = sb.start("ganesha", [binary, "-F", "-f", conf, "-L", srv.log,
                                    "-p", sb.work / "ganesha.pid", "-N", "NIV_EVENT"],
                        sb.work / "ganesha.out")
    # Ganesha registers with the namespace's rpcbind: the client finds it
    # through the portmapper (no explicit ports in the URL).
    srv.url = nfs_url()
    # NFSv4 has a fixed port and no MOUNT: nfs4load goes there directly.
    srv.url4_candidate = f"nfs://127.0.0.1:{a.ganesha_port}/{EXPORT_NAME}"
    err = wait_ready(sb, srv.proc, srv.url, a.start_timeout, "ganesha")
    if err:
        srv.status = f"failed: {err}"
        log(f"Ganesha failed to start: {err}\n{tail(srv.log)}\n{tail(sb.work / 'ganesha.out')}")
        sb.stop(srv.proc)
    else:
        srv.status = "running"
        log(f"Ganesha ready at {srv.url} (via rpcbind)")
        wait_listing(sb, srv, a)
        check_v41(sb, srv, a)
    return srv


def start_p2pfs(sb, a, data):
    srv = Server("p2pfs")
    binary = Path(a.p2pfs)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        srv.status = f"absent ({binary} not found)"
        log(f"p2pfs binary {binary} not found: p2pfs column is n/a")
        return srv
    state = sb.work / "state"
    state.mkdir(exist_ok=True)
    srv.log = sb.work / "p2pfs.log"
    argv = [binary, "daemon", "--export", f"{EXPORT_NAME}={data}",
            "--nfs", f"127.0.0.1:{a.p2pfs_port}", "--portmap", "off",
            "--state-dir", state, "--discovery", "off"] + a.p2pfs_arg
    srv.detail["command"] = " ".join(str(x) for x in argv)
    srv.proc = sb.start("p2pfs", argv, srv.log)
    # p2pfs runs without the portmapper: explicit NFS and MOUNT ports.
    srv.url = nfs_url(a.p2pfs_port, a.p2pfs_mount_port)
    srv.url4_candidate = f"nfs://127.0.0.1:{a.p2pfs_port}/{EXPORT_NAME}"
    err = wait_ready(sb, srv.proc, srv.url, a.start_timeout, "p2pfs")
    if err:
        srv.status = f"failed: {err}"
        log(f"p2pfs failed to start: {err}; p2pfs column is n/a\n{tail(srv.log)}")
        sb.stop(srv.proc)
    else:
        srv.status = "running"
        log(f"p2pfs ready at {srv.url}")
        wait_listing(sb, srv, a)
        check_v41(sb, srv, a)
    return srv


# --------------------------------------------------------------------------
# workloads

class Row:
    def __init__(self, wid, label, unit, key, better="higher", fmt="{:.1f}", target=None):
        self.id = wid
        self.target = target    # least ratio p2pfs/Ganesha asked for (Docs/performance.md)
        self.label = label
        self.unit = unit
        self.key = key          # field of the nfsload JSON
        self.better = better
        self.fmt = fmt
        self.samples = {"p2pfs": [], "ganesha": []}
        self.cells = {"p2pfs": None, "ganesha": None}   # None -> computed from samples
        self.pending = False

    def value(self, server):
        s = self.samples[server]
        return statistics.median(s) if s else None

    @property
    def met(self):
        q = ratio(self)
        if self.target is None or q is None:
            return None
        return q >= self.target


class Goal:
    """A figure measured against a target: a ratio to a reference figure
    (higher is better, at least `target`), or an absolute value (at most
    `target` when lower is better)."""

    def __init__(self, gid, label, unit, value, reference, reference_label, target, samples, better="higher"):
        self.id = gid
        self.label = label
        self.unit = unit
        self.value = value
        self.reference = reference
        self.reference_label = reference_label
        self.target = target
        self.samples = samples
        self.better = better

    @property
    def measure(self):
        if self.value is None:
            return None
        if self.reference_label is not None:
            # A ratio without its reference (e.g. the local seqread was not
            # run) is unknown, not the raw value compared with a ratio target.
            return self.value / self.reference if self.reference else None
        return self.value

    @property
    def met(self):
        m = self.measure
        if m is None:
            return None
        return m >= self.target if self.better == "higher" else m <= self.target


def render_goals(goals):
    if not goals:
        return ""
    head = ("p2pfs against its targets", "value", "reference", "ratio", "target", "")
    lines = []
    for g in goals:
        value = "n/a" if g.value is None else (f"{g.value:.2f}" if g.unit == "s" else f"{g.value:.3f}" if g.value < 10 else f"{g.value:.1f}" if g.value < 1e4 else f"{g.value:.0f}")
        ref = "" if g.reference_label is None else ("n/a" if g.reference is None else f"{g.reference:.3f}" if g.reference < 10 else f"{g.reference:.1f}" if g.reference < 1e4 else f"{g.reference:.0f}")
        ratio_text = "" if g.reference_label is None else ("n/a" if g.measure is None else f"{g.measure:.2f}")
        target = (">= " if g.better == "higher" else "<= ") + (f"{g.target:g}x" if g.reference_label else f"{g.target:g} {g.unit}")
        verdict = {True: "met", False: "MISSED", None: "n/a"}[g.met]
        lines.append((f"{g.label} ({g.unit})", value, ref, ratio_text, target, verdict))
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(6)]
    fmt = lambda c: "  ".join([c[0].ljust(widths[0])] + [c[i].rjust(widths[i]) for i in range(1, 6)])
    out = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(c) for c in lines]
    refs = sorted({g.reference_label for g in goals if g.reference_label})
    if refs:
        out.append("reference = " + "; ".join(refs) + " (from the table above); ratio = value/reference")
    return "\n".join(out)


def fmt_cell(row, server):
    if row.pending:
        return "pending"
    if row.cells[server]:
        return row.cells[server]
    v = row.value(server)
    if v is None:
        return "n/a"
    return row.fmt.format(v)


def ratio(row):
    p, g = row.value("p2pfs"), row.value("ganesha")
    if row.pending or p is None or g is None or row.cells["p2pfs"] or row.cells["ganesha"]:
        return None
    if row.better == "higher":
        return p / g if g else None
    return g / p if p else None


# Issue 16 rows: seqread with one request in flight, and forwarded reads
# measured against references that do the same work: Ganesha's proxy FSAL,
# and a direct read from the far host across a shaped link.  Both forwarded
# rows run across a veth pair between the sandbox (the far host: the
# benchmark's Ganesha and a p2pfs source node) and a second namespace (the
# near host: the forwarding servers and the client).

LINK_FAR, LINK_NEAR = "198.18.1.1", "198.18.1.2"      # /30 on the veth pair
LINK_RATE_BITS = 1_000_000_000                         # the shaped row's tbf rate
GANESHA_PROXY_TEMPLATE = BENCH / "ganesha-proxy.conf.in"


class LinkedWorkloads:
    """Workloads seqread1, fwdproxy and shaped (mixed into Runner)."""

    def linked_workloads(self):
        return {"seqread1": self.workload_seqread1, "fwdproxy": self.workload_fwdproxy,
                "shaped": self.workload_shaped}

    def workload_seqread1(self):
        """seqread with one request in flight: what `cat` or `cp` through a
        synchronous client sees, where per-request latency decides."""
        a = self.a
        row = Row("seqread1", f"seqread {human_bytes(a.file_size)}, {human_bytes(a.seq_block)} x1",
                  "MiB/s", "mib_s", target=1.1)
        args = ["seqread", "--file", "big.bin", "--block", str(a.seq_block), "--inflight", "1"]
        self.run_rounds("seqread1", [row, self.server_cpu_row(row)], args, 60 + a.file_size / (5 << 20))

    @staticmethod
    def server_cpu_row(row):
        """The server's CPU time per GiB over the rounds of a seqread row
        (informational: no target)."""
        return Row(row.id + "_cpu", row.label + ", server CPU per GiB", "s/GiB", "server_cpu_s_gib",
                   better="lower", fmt="{:.3f}")

    def open_near(self, label, rate_bits=None):
        """A second namespace joined to the sandbox by a veth pair (far end
        LINK_FAR in the sandbox, near end LINK_NEAR), optionally shaped with
        tbf on both ends. Removed with close() (the veth pair goes with it)."""
        near = Sandbox(self.sb.work / f"near-{label}", suffix="near")
        near.work.mkdir(parents=True, exist_ok=True)
        near.create()
        try:
            far_dev, near_dev = "p2b-far", "p2b-near"
            cmds = [(self.sb, ["ip", "link", "add", far_dev, "type", "veth", "peer", "name", near_dev,
                               "netns", near.name]),
                    (self.sb, ["ip", "addr", "add", f"{LINK_FAR}/30", "dev", far_dev]),
                    (near, ["ip", "addr", "add", f"{LINK_NEAR}/30", "dev", near_dev]),
                    (self.sb, ["ip", "link", "set", far_dev, "up"]),
                    (near, ["ip", "link", "set", near_dev, "up"])]
            if rate_bits:
                # burst: room for one 64 KiB GSO packet and then some; no
                # netem on this kernel, so no added delay.
                for sb, dev in ((self.sb, far_dev), (near, near_dev)):
                    cmds.append((sb, ["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", str(rate_bits),
                                      "burst", "256kb", "latency", "20ms"]))
            for sb, cmd in cmds:
                run_host(["ip", "netns", "exec", sb.name] + cmd)
        except BaseException:
            near.close()
            self.drop_far_link()
            raise
        log(f"namespace {near.name} linked to {self.sb.name} ({LINK_NEAR} -> {LINK_FAR}"
            f"{', tbf %g Mbit/s' % (rate_bits / 1e6) if rate_bits else ''})")
        return near

    def drop_far_link(self):
        run_host(["ip", "netns", "exec", self.sb.name, "ip", "link", "del", "p2b-far"], check=False)

    def close_near(self, near):
        near.close()
        self.drop_far_link()      # normally gone with its peer already

    def start_in(self, sb, label, argv):
        log_path = sb.work / f"{label}.log"
        proc = sb.start(label, [self.a.p2pfs, "daemon", "--name", label, "--state-dir",
                                sb.work / f"state-{label}", "--discovery", "off"] + argv, log_path)
        return proc, log_path

    def nfsload_in(self, sb, url, args, timeout):
        argv = [NFSLOAD] + args + ["--url", url, "--timeout", str(self.a.rpc_timeout), "--deadline", str(int(timeout))]
        rc, out, err = sb.run(argv, timeout=timeout + 15)
        for line in reversed(out.strip().splitlines()):
            try:
                return rc, json.loads(line), err.strip()
            except ValueError:
                continue
        return rc, None, err.strip()

    def wait_readable_in(self, sb, url, proc, log_path, timeout):
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"daemon exited: {tail(log_path)}")
            rc, _, err = self.nfsload_in(sb, url, ["seqread", "--file", "big.bin", "--bytes", "4096",
                                                   "--inflight", "1"], 10)
            if rc == 0:
                return
            last = ((err or "").strip().splitlines()[-1:] or [""])[0]
            time.sleep(0.3)
        raise BenchError(f"big.bin not readable through {url} after {timeout:.0f} s ({last})")

    def linked_prerequisites(self, wid):
        a = self.a
        ganesha = self.servers.get("ganesha")
        if "p2pfs" not in self.servers or not Path(a.p2pfs).is_file() or ganesha is None or not ganesha.running:
            self.skip(wid, f"needs the p2pfs binary {a.p2pfs} and both servers running"
                      f" (servers: {','.join(self.servers) or 'none'})")
            return False
        return True

    def forwarded_rounds(self, row, near, peer_port, reference_url, reference_label, read_args, timeout):
        """Rounds of: a fresh p2pfs client node in `near` forwarding a first
        read to the source node in the sandbox, and the same read from the
        reference URL, alternating which goes first. Fills row.samples; a
        failed run marks its column FAIL (no median of fewer rounds)."""
        wid = row.id
        a = self.a
        port = 2060
        url = nfs_url(port)
        samples = {"p2pfs": [], "ganesha": []}
        self.details[wid] = {"p2pfs": [], "ganesha": []}
        client_args = ["--nfs", f"127.0.0.1:{port}", "--peer", f"{LINK_FAR}:{peer_port}", "--portmap", "off",
                       "--cache-size", str(a.forward_cache_mib), "--log-level", "warning"]
        for rnd in range(min(a.rounds, 3)):
            verify = ["--verify", str(self.data / "big.bin")] if rnd == 0 and not a.no_verify else []
            order = ["p2pfs", reference_label] if rnd % 2 == 0 else [reference_label, "p2pfs"]
            for who in order:
                if who == "p2pfs":
                    client, client_log = self.start_in(near, "fwd-client", client_args)
                    try:
                        self.wait_readable_in(near, url, client, client_log, a.start_timeout)
                        rc, res, err = self.nfsload_in(near, url, read_args + verify, timeout)
                    finally:
                        problem = near.stop(client)
                        if problem:
                            self.failures += 1
                            log(f"{wid}: fwd-client FAILED: {problem}\n{tail(client_log)}")
                    key = "p2pfs"
                else:
                    rc, res, err = self.nfsload_in(near, reference_url, read_args + verify, timeout)
                    key = "ganesha"
                self.details[wid][key].append(res if res is not None else {"error": err})
                if rc != 0 or res is None or "mib_s" not in res or res.get("mismatches"):
                    self.failures += 1
                    log(f"{wid} {who} round {rnd + 1} FAILED (exit {rc}): {err.splitlines()[-3:] if err else ''}")
                    row.cells[key] = "FAIL"
                    continue
                samples[key].append(float(res["mib_s"]))
                log(f"{wid} round {rnd + 1} {who}: mib_s={res['mib_s']}")
        row.samples = samples

    def start_proxy(self, near):
        """Starts rpcbind and the Ganesha proxy in `near`; returns its URL."""
        a = self.a
        start_rpcbind(near)
        conf = near.work / "ganesha-proxy.conf"
        text = GANESHA_PROXY_TEMPLATE.read_text()
        for key, value in {"NFS_PORT": 2049, "MNT_PORT": 20048, "PLUGINS_DIR": plugins_dir(),
                           "WORK_DIR": near.work, "REMOTE_PATH": "/" + EXPORT_NAME,
                           "PSEUDO": "/" + EXPORT_NAME, "SRV_ADDR": LINK_FAR,
                           "SRV_PORT": a.ganesha_port}.items():
            text = text.replace(f"@{key}@", str(value))
        conf.write_text(text)
        (near.work / "ganesha-recovery").mkdir(exist_ok=True)
        proxy_log = near.work / "ganesha-proxy.log"
        proxy = near.start("ganesha-proxy", [a.ganesha, "-F", "-f", conf, "-L", proxy_log,
                                             "-p", near.work / "ganesha-proxy.pid", "-N", "NIV_EVENT"],
                           near.work / "ganesha-proxy.out")
        proxy_url = nfs_url()      # through the near namespace's rpcbind
        err = wait_ready(near, proxy, proxy_url, a.start_timeout, "ganesha-proxy")
        if err:
            raise BenchError(f"Ganesha proxy did not start: {err}\n{tail(proxy_log)}\n"
                             f"{tail(near.work / 'ganesha-proxy.out')}")
        log(f"Ganesha proxy ready at {proxy_url} (near namespace), re-exporting {LINK_FAR}:{a.ganesha_port}")
        return proxy_url

    def workload_fwdproxy(self):
        """Forwarded first read against NFS-Ganesha's proxy FSAL. Far host
        (the sandbox): the benchmark's Ganesha and a p2pfs source node.
        Near host: a Ganesha proxy (proxy_v4, re-exporting the far Ganesha
        over NFSv3, private rpcbind) and a fresh p2pfs client node per
        round; the client reads big.bin through each, 1 MiB x16."""
        a = self.a
        if not self.linked_prerequisites("fwdproxy"):
            return
        if not (Path(plugins_dir()) / "libfsalproxy_v4.so").exists():
            self.skip("fwdproxy", f"no libfsalproxy_v4.so in {plugins_dir()} (Debian package nfs-ganesha-proxy-v4)")
            return
        peer_port = 7483
        row = Row("fwdproxy", f"forwarded seqread, first read, {human_bytes(a.seq_block)} x{a.seq_inflight}"
                  " (ganesha: proxy_v4)", "MiB/s", "mib_s", target=1.0)
        near = self.open_near("proxy")
        source = None
        try:
            proxy_url = self.start_proxy(near)
            source, source_log = self.start_daemon("fwd-source-proxy", [
                "--export", f"{EXPORT_NAME}={self.data}", "--listen", f"{LINK_FAR}:{peer_port}",
                "--rescan-interval", "3600", "--log-level", "warning"])
            read = ["seqread", "--file", "big.bin", "--block", str(a.seq_block), "--inflight", str(a.seq_inflight)]
            self.forwarded_rounds(row, near, peer_port, proxy_url, "ganesha-proxy", read,
                                  60 + a.file_size / (5 << 20))
        except BenchError as e:
            self.failures += 1
            row.cells["p2pfs"] = row.cells["ganesha"] = "FAIL"
            log(f"fwdproxy FAILED: {e}")
        finally:
            if source is not None:
                self.stop_daemon("fwd-source-proxy", source, source_log)
            self.close_near(near)
        self.rows.append(row)
        self.goals.append(Goal("fwdproxy_local", "forwarded seqread over veth, first read", "MiB/s",
                               row.value("p2pfs") if not row.cells["p2pfs"] else None,
                               self.local_figure("seqread"), "local p2pfs seqread", 0.5, row.samples["p2pfs"]))

    def workload_shaped(self):
        """Across a 1 Gbit/s link (tbf on both ends of the veth pair): a
        forwarded first read through a fresh p2pfs client node on the near
        side against reading directly from the far host's Ganesha over the
        same link. 512 MiB of big.bin (or all of a smaller file)."""
        a = self.a
        if not self.linked_prerequisites("shaped"):
            return
        peer_port = 7484
        size = min(a.file_size, 512 << 20)
        link_mib_s = LINK_RATE_BITS / 8 / (1 << 20)
        row = Row("shaped", f"shaped {LINK_RATE_BITS / 1e9:g} Gbit/s link, {human_bytes(size)}: forwarded first read"
                  " (ganesha: direct from the far host)", "MiB/s", "mib_s", target=0.95)
        near = self.open_near("shaped", LINK_RATE_BITS)
        source = None
        try:
            source, source_log = self.start_daemon("fwd-source-shaped", [
                "--export", f"{EXPORT_NAME}={self.data}", "--listen", f"{LINK_FAR}:{peer_port}",
                "--rescan-interval", "3600", "--log-level", "warning"])
            direct = f"nfs://{LINK_FAR}/{EXPORT_NAME}?nfsport={a.ganesha_port}&mountport={a.ganesha_mount_port}"
            read = ["seqread", "--file", "big.bin", "--block", str(a.seq_block), "--inflight", str(a.seq_inflight),
                    "--bytes", str(size)]
            self.forwarded_rounds(row, near, peer_port, direct, "ganesha-direct", read, 60 + size / (5 << 20))
        except BenchError as e:
            self.failures += 1
            row.cells["p2pfs"] = row.cells["ganesha"] = "FAIL"
            log(f"shaped FAILED: {e}")
        finally:
            if source is not None:
                self.stop_daemon("fwd-source-shaped", source, source_log)
            self.close_near(near)
        self.rows.append(row)
        self.goals.append(Goal("shaped_link", f"forwarded first read across the shaped link", "MiB/s",
                               row.value("p2pfs") if not row.cells["p2pfs"] else None, link_mib_s,
                               f"the link's rate ({LINK_RATE_BITS / 1e9:g} Gbit/s)", 0.9, row.samples["p2pfs"]))


class Runner(LinkedWorkloads):
    def __init__(self, a, sb, data, servers):
        self.a = a
        self.sb = sb
        self.data = data
        self.servers = servers          # name -> Server, in alternation order
        self.rows = []
        self.goals = []                 # workloads 5 and 6: p2pfs against targets
        self.details = {}               # workload id -> server -> list of JSON results
        self.failures = 0
        self.skipped = []               # "workload: why", for each workload not run

    def skip(self, wid, why):
        self.skipped.append(f"{wid}: {why}")
        log(f"{wid}: SKIPPED ({why})")

    def order(self):
        return [s for s in ("p2pfs", "ganesha") if s in self.servers]

    def nfsload(self, srv, args, timeout, v41=False):
        """Runs nfsload (NFSv3) or, with v41, nfs4load against srv."""
        if v41 and srv.url4 is None:
            return 2, None, f"{srv.name} does not answer NFSv4.1: {srv.v41_error or 'not probed'}"
        argv = [NFS4LOAD if v41 else NFSLOAD] + args + [
            "--url", srv.url4 if v41 else srv.url, "--timeout", str(self.a.rpc_timeout),
            "--deadline", str(int(timeout))]
        rc, out, err = self.sb.run(argv, timeout=timeout + 15)
        result = None
        for line in reversed(out.strip().splitlines()):
            try:
                result = json.loads(line)
                break
            except ValueError:
                continue
        return rc, result, err.strip()

    def run_rounds(self, wid, rows, args, timeout, v41=False):
        """Runs one workload for every round, servers alternating."""
        self.details[wid] = {s: [] for s in self.servers}
        for rnd in range(self.a.rounds):
            for name in self.order():
                srv = self.servers[name]
                if not srv.running:
                    if srv.status == "running":
                        srv.status = f"failed: exited with status {srv.proc.returncode} during {wid}"
                        log(f"{name} exited during the run\n{tail(srv.log)}")
                        self.failures += 1
                        if rnd > 0:
                            for row in rows:     # incomplete: do not report a partial median
                                row.cells[name] = "FAIL"
                    continue
                before = cpu_seconds_precise(srv.proc.pid) if srv.proc else None
                rc, res, err = self.nfsload(srv, args, timeout, v41)
                after = cpu_seconds_precise(srv.proc.pid) if srv.proc else None
                if res is not None and res.get("bytes") and None not in (before, after):
                    # The server's CPU per GiB served: what a change that
                    # spares copies moves even where the client (on the
                    # same two cores) caps the throughput.
                    res["server_cpu_s_gib"] = round((after - before) / (float(res["bytes"]) / (1 << 30)), 4)
                self.details[wid][name].append(res if res is not None else {"error": err})
                if rc != 0 or res is None:
                    self.failures += 1
                    msg = err.splitlines()[-5:] if err else []
                    log(f"{wid} round {rnd + 1} on {name} FAILED (exit {rc}): " + " | ".join(msg))
                    for row in rows:
                        row.cells[name] = "FAIL"
                    continue
                if any(row.cells[name] == "FAIL" for row in rows):
                    continue
                summary = ", ".join(f"{row.key}={res.get(row.key)}" for row in rows)
                log(f"{wid} round {rnd + 1}/{self.a.rounds} {name}: {summary}")
                for row in rows:
                    if row.key in res:
                        row.samples[name].append(float(res[row.key]))
        self.rows.extend(rows)

    def verify_pass(self, args, timeout, rows, v41=False):
        """Untimed seqread of the whole file compared with the source file,
        once per server before the timed rounds (also warms the server)."""
        for name in self.order():
            srv = self.servers[name]
            if not srv.running:
                continue
            rc, res, err = self.nfsload(srv, args + ["--verify", str(self.data / "big.bin")], timeout, v41)
            self.details.setdefault(rows[0].id + "_verify", {})[name] = res if res is not None else {"error": err}
            if rc != 0 or res is None or not res.get("verified") or res.get("mismatches"):
                self.failures += 1
                msg = err.splitlines()[-5:] if err else []
                log(f"{rows[0].id} verification on {name} FAILED (exit {rc}): " + " | ".join(msg))
                for row in rows:
                    row.cells[name] = "FAIL"
            else:
                log(f"{rows[0].id} verification on {name}: {res['bytes']} bytes identical to the source")

    def warmup(self, wid, args, timeout, v41=False):
        """One untimed run per server before the timed rounds."""
        for name in self.order():
            srv = self.servers[name]
            if srv.running:
                rc, res, err = self.nfsload(srv, args, timeout, v41)
                if rc != 0:
                    log(f"{wid} warm-up on {name} failed: {err.splitlines()[-1:] if err else rc}")

    # The NFSv3 rows (nfsload) and their NFSv4.1 counterparts (nfs4load,
    # ids ending in 41): same files, block sizes, in-flight counts, targets.

    def workload_seqread(self, v41=False):
        a = self.a
        wid = "seqread41" if v41 else "seqread"
        row = Row(wid, f"{'v4.1 ' if v41 else ''}seqread {human_bytes(a.file_size)}, "
                  f"{human_bytes(a.seq_block)} x{a.seq_inflight}", "MiB/s", "mib_s", target=1.0 if v41 else 1.3)
        args = ["seqread", "--file", "big.bin", "--block", str(a.seq_block),
                "--inflight", str(a.seq_inflight)]
        # generous bound: 5 MiB/s minimum
        timeout = 60 + a.file_size / (5 << 20)
        if not a.no_verify:
            self.verify_pass(args, timeout, [row], v41)
        self.run_rounds(wid, [row, self.server_cpu_row(row)], args, timeout, v41)

    def workload_randread(self, v41=False):
        a = self.a
        wid = "randread41" if v41 else "randread"
        lbl = f"{'v4.1 ' if v41 else ''}randread {human_bytes(a.rand_block)} x{a.rand_inflight}"
        rows = [Row(wid, lbl, "ops/s", "ops_s", fmt="{:.0f}", target=1.0),
                Row(wid + "_p99", lbl + " p99 latency", "us", "lat_p99_us", better="lower",
                    fmt="{:.0f}", target=None if v41 else 1.0)]
        args = ["randread", "--file", "big.bin", "--block", str(a.rand_block),
                "--inflight", str(a.rand_inflight), "--seconds", str(a.rand_seconds), "--seed", "1"]
        self.run_rounds(wid, rows, args, a.rand_seconds + 60, v41)

    def workload_meta(self, v41=False):
        a = self.a
        wid = "meta41" if v41 else "meta"
        row = Row(wid, f"{'v4.1 ' if v41 else ''}meta LOOKUP+GETATTR+ACCESS, {a.tree_files} files "
                  f"x{a.meta_inflight}", "ops/s", "ops_s", fmt="{:.0f}", target=1.5)
        args = ["meta", "--tree", "tree", "--inflight", str(a.meta_inflight),
                "--seconds", str(a.meta_seconds)]
        self.run_rounds(wid, [row], args, a.meta_seconds + 120, v41)

    def workload_readdirplus(self, v41=False):
        a = self.a
        wid, cmd = ("readdir41", "readdir") if v41 else ("readdirplus", "readdirplus")
        row = Row(wid, f"{'v4.1 ' if v41 else ''}{cmd} {a.flat_entries} entries", "entries/s",
                  "entries_s", fmt="{:.0f}", target=1.5)
        args = [cmd, "--dir", "flat", "--repeat", str(a.readdir_repeat),
                "--dircount", str(a.readdir_dircount), "--maxcount", str(a.readdir_maxcount),
                "--expect", str(a.flat_entries)]
        timeout = 60 + a.readdir_repeat * a.flat_entries / 2000
        self.warmup(wid, args[:args.index("--repeat")] + ["--repeat", "1"] +
                    args[args.index("--repeat") + 2:], timeout, v41)
        self.run_rounds(wid, [row], args, timeout, v41)

    # Workloads 5 and 6 measure p2pfs against targets and against its own
    # local figures; Ganesha has no equivalent. Their results are "goals".

    def local_figure(self, row_id):
        row = next((r for r in self.rows if r.id == row_id), None)
        return row.value("p2pfs") if row and not row.cells["p2pfs"] else None

    def start_daemon(self, label, argv, discovery=False, binary=None):
        """Starts a p2pfs daemon in the sandbox. Discovery stays off unless
        asked for, and then only on the sandbox's own link (workload 7).
        `binary`: another p2pfs build (the plaintext reference of workload 5)."""
        log_path = self.sb.work / f"{label}.log"
        proc = self.sb.start(label, [binary or self.a.p2pfs, "daemon", "--name", label,
                                     "--state-dir", self.sb.work / f"state-{label}",
                                     "--discovery", "on" if discovery else "off"] + argv, log_path)
        return proc, log_path

    def stop_daemon(self, label, proc, log_path):
        """Stops a p2pfs daemon of workloads 5 to 7; one that crashed
        earlier or on SIGTERM, or needed SIGKILL, is a failure."""
        problem = self.sb.stop(proc)
        if problem:
            self.failures += 1
            log(f"p2pfs daemon {label} (pid {proc.pid}) FAILED: {problem}\n{tail(log_path)}")

    def wait_readable(self, url, path, proc, log_path, timeout):
        """Waits until `path` reads through `url` (the client learned it)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"daemon exited: {tail(log_path)}")
            rc, out, err = self.sb.run([NFSLOAD, "seqread", "--url", url, "--file", path, "--bytes", "4096",
                                        "--inflight", "1", "--timeout", "5", "--deadline", "10"], timeout=20)
            if rc == 0:
                return
            last = (err or "").strip().splitlines()[-1:] or [""]
            time.sleep(0.3)
        raise BenchError(f"{path} not readable through {url} after {timeout:.0f} s ({last[0]})")

    def workload_forwarded(self):
        """Workload 5: reads of a file that lives on a second p2pfs node.

        A source node offers the data set; a client node that offers nothing
        serves NFS and forwards every read to it. Each round restarts the
        client (an empty block cache), then reads twice: the first read is
        forwarded block by block, the re-read comes from the client's cache.
        Figures are compared with p2pfs reading the same file locally."""
        a = self.a
        if "p2pfs" not in self.servers or not Path(a.p2pfs).is_file():
            self.skip("forwarded", f"needs the p2pfs binary {a.p2pfs} and the p2pfs server"
                      f" (servers: {','.join(self.servers) or 'none'})")
            return
        port, peer_port = a.p2pfs_port + 10, 7481
        url = nfs_url(port)
        source, source_log = self.start_daemon("fwd-source", [
            "--export", f"{EXPORT_NAME}={self.data}", "--listen", f"127.0.0.1:{peer_port}",
            "--rescan-interval", "3600", "--log-level", "warning"])
        samples = {key: [] for key in ("seq_first", "seq_cached", "rand_first", "rand_cached")}
        seq = ["seqread", "--file", "big.bin", "--block", str(a.seq_block), "--inflight", str(a.seq_inflight)]
        rand = ["randread", "--file", "big.bin", "--block", str(a.rand_block), "--inflight", str(a.rand_inflight),
                "--seconds", str(a.rand_seconds), "--seed", "7"]
        client_args = ["--nfs", f"127.0.0.1:{port}", "--peer", f"127.0.0.1:{peer_port}", "--portmap", "off",
                       "--cache-size", str(a.forward_cache_mib), "--log-level", "warning"]
        timeout = 60 + a.file_size / (5 << 20)
        pairs = None
        try:
            for rnd in range(min(a.rounds, 3)):
                for kind, args in (("seq", seq), ("rand", rand)):
                    client, client_log = self.start_daemon("fwd-client", client_args)
                    try:
                        self.wait_readable(url, "big.bin", client, client_log, a.start_timeout)
                        for phase in ("first", "cached"):
                            run_args = args + (["--verify", str(self.data / "big.bin")]
                                               if kind == "seq" and phase == "first" and rnd == 0 and not a.no_verify else [])
                            rc, res, err = self.nfsload_url(url, run_args, timeout if kind == "seq" else a.rand_seconds + 60)
                            key = "mib_s" if kind == "seq" else "ops_s"
                            if rc != 0 or res is None or key not in res or res.get("mismatches"):
                                self.failures += 1
                                log(f"forwarded {kind} {phase} round {rnd + 1} FAILED: {err.splitlines()[-3:] if err else rc}")
                                continue
                            samples[f"{kind}_{phase}"].append(float(res[key]))
                            log(f"forwarded {kind} {phase} round {rnd + 1}: {key}={res[key]}")
                    finally:
                        self.stop_daemon("fwd-client", client, client_log)
            if a.p2pfs_plaintext:
                pairs = self.forwarded_tls_pairs(seq, timeout, url, client_args, source)
            else:
                log("forwarded: no --p2pfs-plaintext binary, so no TLS-versus-plaintext row")
        except BenchError as e:
            self.failures += 1
            log(f"forwarded reads FAILED: {e}")
        finally:
            self.stop_daemon("fwd-source", source, source_log)
        median = lambda v: statistics.median(v) if v else None
        local_seq, local_rand = self.local_figure("seqread"), self.local_figure("randread")
        self.goals.extend([
            Goal("forwarded_seq_first", "forwarded seqread, first read", "MiB/s", median(samples["seq_first"]),
                 local_seq, "local p2pfs seqread", 0.7, samples["seq_first"]),
            Goal("forwarded_seq_cached", "forwarded seqread, cached re-read", "MiB/s", median(samples["seq_cached"]),
                 local_seq, "local p2pfs seqread", 1.0, samples["seq_cached"]),
            Goal("forwarded_rand_first", "forwarded randread, first read", "ops/s", median(samples["rand_first"]),
                 local_rand, "local p2pfs randread", 0.7, samples["rand_first"]),
            Goal("forwarded_rand_cached", "forwarded randread, cached re-read", "ops/s", median(samples["rand_cached"]),
                 local_rand, "local p2pfs randread", 1.0, samples["rand_cached"]),
        ])
        if pairs:
            self.goals.extend([
                Goal("forwarded_seq_first_tls", "forwarded seqread, first read, TLS (this build)", "MiB/s",
                     median(pairs["tls"]), median(pairs["plain"]),
                     "the same rounds, peers in plaintext (--p2pfs-plaintext)", 0.8, pairs["tls"]),
                Goal("forwarded_seq_first_tls_cpu", "client + source CPU per GiB forwarded, TLS (this build)", "s/GiB",
                     median(pairs["tls_cpu"]), median(pairs["plain_cpu"]),
                     "the same rounds, peers in plaintext", 1.25, pairs["tls_cpu"], better="lower"),
            ])

    def forwarded_tls_pairs(self, seq, timeout, tls_url, client_args, tls_source):
        """The TLS row of workload 5: the forwarded first seqread through
        this build (TLS, protocol 2; the workload's running `fwd-source`)
        and through a p2pfs whose peers talk plaintext (`--p2pfs-plaintext`:
        this code built with -D P2PFS_PLAINTEXT_PEERS, `make
        bench-plaintext`; or the last release of protocol version 1) as both
        source and client, on ports of its own. Rounds alternate which goes
        first, each with a fresh client (an empty block cache), so load on
        a shared machine falls on both alike. Also the client's plus the source's CPU time per GiB
        read, which other load disturbs less than throughput."""
        a = self.a
        binary = a.p2pfs_plaintext
        if not Path(binary).is_file():
            self.skip("forwarded_seq_first_tls", f"--p2pfs-plaintext {binary} is not a file")
            return None
        port, peer_port = a.p2pfs_port + 11, 7482
        plain_url = nfs_url(port)
        plain_client_args = ["--nfs", f"127.0.0.1:{port}", "--peer", f"127.0.0.1:{peer_port}", "--portmap", "off",
                             "--cache-size", str(a.forward_cache_mib), "--log-level", "warning"]
        plain_source, plain_source_log = self.start_daemon("fwd-plain-source", [
            "--export", f"{EXPORT_NAME}={self.data}", "--listen", f"127.0.0.1:{peer_port}",
            "--rescan-interval", "3600", "--log-level", "warning"], binary=binary)
        sides = {
            "tls": ("fwd-client", None, client_args, tls_url, tls_source),
            "plain": ("fwd-plain-client", binary, plain_client_args, plain_url, plain_source),
        }
        pairs = {"tls": [], "plain": [], "tls_cpu": [], "plain_cpu": []}
        try:
            for rnd in range(max(a.rounds, 3)):
                for side in (("tls", "plain") if rnd % 2 == 0 else ("plain", "tls")):
                    label, side_binary, args, url, source = sides[side]
                    client, client_log = self.start_daemon(label, args, binary=side_binary)
                    try:
                        self.wait_readable(url, "big.bin", client, client_log, a.start_timeout)
                        pids = (client.pid, source.pid)
                        before = [cpu_seconds(pid) for pid in pids]
                        rc, res, err = self.nfsload_url(url, seq, timeout)
                        after = [cpu_seconds(pid) for pid in pids]
                        if rc != 0 or res is None or "mib_s" not in res or res.get("mismatches"):
                            self.failures += 1
                            log(f"forwarded {side} seq first pair {rnd + 1} FAILED: {err.splitlines()[-3:] if err else rc}")
                            continue
                        pairs[side].append(float(res["mib_s"]))
                        per_gib = None
                        if None not in before + after and res.get("bytes"):
                            per_gib = (sum(after) - sum(before)) / (float(res["bytes"]) / (1 << 30))
                            pairs[f"{side}_cpu"].append(per_gib)
                        log(f"forwarded {side} seq first pair {rnd + 1}: mib_s={res['mib_s']}"
                            + (f", client + source cpu {per_gib:.3f} s/GiB" if per_gib is not None else ""))
                    finally:
                        self.stop_daemon(label, client, client_log)
        except BenchError as e:
            self.failures += 1
            log(f"forwarded TLS/plaintext pairs FAILED: {e}")
        finally:
            self.stop_daemon("fwd-plain-source", plain_source, plain_source_log)
        return pairs

    def workload_metrics(self):
        """Workload 8: what `--metrics` costs the data path.

        A second p2pfs daemon serves the same data with `--metrics` on;
        seqread alternates between it and the main p2pfs server (metrics
        off) round by round, so both see the same machine. The figure is
        the ratio of the medians; next to it, the daemons' CPU time per GiB
        read, which a machine busy with other work disturbs less than
        throughput. A scrape afterwards checks that the metrics were really
        on and counted the bytes read."""
        a = self.a
        main = self.servers.get("p2pfs")
        if main is None or not main.running:
            self.skip("metrics", "needs the p2pfs server running (servers: "
                      f"{','.join(self.servers) or 'none'})")
            return
        port, metrics_port = a.p2pfs_port + 20, 9476
        url = nfs_url(port)
        daemon, daemon_log = self.start_daemon("metrics-on", [
            "--export", f"{EXPORT_NAME}={self.data}", "--nfs", f"127.0.0.1:{port}", "--portmap", "off",
            "--listen", "127.0.0.1:7482", "--metrics", f"127.0.0.1:{metrics_port}", "--rescan-interval", "3600", "--log-level", "warning"])
        samples = {"off": [], "on": []}
        cpu = {"off": [], "on": []}         # daemon CPU seconds per GiB read
        pids = {"off": main.proc.pid, "on": daemon.pid}
        seq = ["seqread", "--file", "big.bin", "--block", str(a.seq_block), "--inflight", str(a.seq_inflight)]
        timeout = 60 + a.file_size / (5 << 20)
        try:
            self.wait_readable(url, "big.bin", daemon, daemon_log, a.start_timeout)
            self.nfsload_url(url, seq, timeout)     # warm-up, untimed
            for rnd in range(a.rounds):
                order = [("off", main.url), ("on", url)]
                for phase, target in (order if rnd % 2 == 0 else order[::-1]):
                    before = cpu_seconds(pids[phase])
                    rc, res, err = self.nfsload_url(target, seq, timeout)
                    after = cpu_seconds(pids[phase])
                    if rc != 0 or res is None or "mib_s" not in res:
                        self.failures += 1
                        log(f"metrics seqread ({phase}) round {rnd + 1} FAILED: {err.splitlines()[-3:] if err else rc}")
                        continue
                    samples[phase].append(float(res["mib_s"]))
                    per_gib = None
                    if before is not None and after is not None and res.get("bytes"):
                        per_gib = (after - before) / (float(res["bytes"]) / (1 << 30))
                        cpu[phase].append(per_gib)
                    log(f"metrics seqread ({phase}) round {rnd + 1}: mib_s={res['mib_s']}"
                        + (f", daemon cpu {per_gib:.3f} s/GiB" if per_gib is not None else ""))
            scrape = f"http://127.0.0.1:{metrics_port}/metrics"
            rc, out, err = self.sb.run(["python3", "-c", "import sys, urllib.request; "
                                        "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                                        scrape], timeout=30)
            found = re.search(r'^p2pfs_nfs_read_bytes_total\{version="3"\} (\d+)', out or "", re.M)
            counted = int(found.group(1)) if found else None
            expected = (1 + len(samples["on"])) * a.file_size
            if counted is None or counted < expected:
                self.failures += 1
                log(f"metrics scrape of {scrape} FAILED: read bytes counted {counted}, expected at least {expected}"
                    f" {err.strip().splitlines()[-1:] if err else ''}")
            else:
                log(f"metrics scrape: p2pfs_nfs_read_bytes_total{{version=\"3\"}} {counted} (at least {expected})")
        except BenchError as e:
            self.failures += 1
            log(f"metrics workload FAILED: {e}")
        finally:
            self.stop_daemon("metrics-on", daemon, daemon_log)
        median = lambda v: statistics.median(v) if v else None
        self.goals.extend([
            Goal("metrics_seqread", "seqread with --metrics on", "MiB/s", median(samples["on"]),
                 median(samples["off"]), "p2pfs seqread with metrics off, same rounds", 0.95, samples["on"]),
            Goal("metrics_cpu", "daemon CPU per GiB of seqread, --metrics on", "s/GiB", median(cpu["on"]),
                 median(cpu["off"]), "the same with metrics off, same rounds", 1.05, cpu["on"], better="lower"),
        ])

    def nfsload_url(self, url, args, timeout):
        argv = [NFSLOAD] + args + ["--url", url, "--timeout", str(self.a.rpc_timeout), "--deadline", str(int(timeout))]
        rc, out, err = self.sb.run(argv, timeout=timeout + 15)
        for line in reversed(out.strip().splitlines()):
            try:
                return rc, json.loads(line), err.strip()
            except ValueError:
                continue
        return rc, None, err.strip()

    def workload_namespace_scale(self):
        """Workload 6: a client crawling many simulated peers (all in one
        simulator process, each a real peer-protocol endpoint) that offer
        10,000 files each: the time from starting the client until the whole
        namespace is served, and the client's peak RSS (VmHWM)."""
        a = self.a
        simulator = Path(a.simulator)
        if "p2pfs" not in self.servers or not Path(a.p2pfs).is_file() or not simulator.is_file():
            absent = [str(x) for x in (a.p2pfs, simulator) if not Path(x).is_file()]
            self.skip("nsscale", f"needs {a.p2pfs} and {simulator} (make bench builds both) and the p2pfs server;"
                      f" missing: {', '.join(absent) or 'the p2pfs server'}")
            return
        base_port, port = 7600, a.p2pfs_port + 20
        directories = 100
        expected = a.scale_peers * a.scale_files + directories + 2   # files, directories, "scale", root
        sim_log = self.sb.work / "peer-simulator.log"
        sim = self.sb.start("peer-simulator", [simulator, "--peers", a.scale_peers, "--files", a.scale_files,
                                               "--directories", directories, "--host", "127.0.0.1",
                                               "--base-port", base_port], sim_log)
        times, peaks = [], []
        try:
            deadline = time.monotonic() + 120
            while "ready" not in (sim_log.read_text(errors="replace") if sim_log.exists() else ""):
                if sim.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"peer simulator did not start: {tail(sim_log)}")
                time.sleep(0.2)
            log(f"peer simulator: {a.scale_peers} peers x {a.scale_files} files")
            for rnd in range(min(a.rounds, 3)):
                shutil.rmtree(self.sb.work / "state-scale-client", ignore_errors=True)
                started = time.monotonic()
                client, client_log = self.start_daemon("scale-client", [
                    "--nfs", f"127.0.0.1:{port}", "--peer", f"127.0.0.1:{base_port}", "--portmap", "off",
                    "--log-level", "warning"])
                try:
                    served = None
                    entries = 0
                    deadline = started + 120
                    while time.monotonic() < deadline and client.poll() is None:
                        rc, out, _ = self.sb.run([self.a.p2pfs, "peers", "--nfs", f"127.0.0.1:{port}"], timeout=15)
                        m = re.search(r"namespace: (\d+) entries", out or "")
                        entries = int(m.group(1)) if m else 0
                        if entries >= expected:
                            served = time.monotonic() - started
                            break
                        time.sleep(0.1)
                    if served is None:
                        self.failures += 1
                        log(f"namespace scale round {rnd + 1} FAILED: {entries} of {expected} entries; {tail(client_log)}")
                        continue
                    # One read: the client may exit at any moment, and a
                    # failed read must not pass for a measurement.
                    try:
                        status = Path(f"/proc/{client.pid}/status").read_text()
                        peak = int(re.search(r"^VmHWM:\s*(\d+) kB", status, re.M).group(1)) / 1024
                    except (OSError, AttributeError) as e:
                        self.failures += 1
                        log(f"namespace scale round {rnd + 1} FAILED: served after {served:.2f} s, but its peak RSS "
                            f"could not be read (client {'exited with status ' + str(client.poll()) if client.poll() is not None else 'running'}: {e})")
                        continue
                    times.append(served)
                    peaks.append(peak)
                    log(f"namespace scale round {rnd + 1}: {entries} entries served after {served:.2f} s, peak RSS {peak:.0f} MiB")
                finally:
                    self.stop_daemon("scale-client", client, client_log)
        except BenchError as e:
            self.failures += 1
            log(f"namespace scale FAILED: {e}")
        finally:
            self.sb.stop(sim)
        median = lambda v: statistics.median(v) if v else None
        label = f"{a.scale_peers} peers x {a.scale_files} files"
        self.goals.extend([
            Goal("nsscale_time", f"namespace scale ({label}): time until served", "s", median(times),
                 None, None, 10.0, times, better="lower"),
            Goal("nsscale_rss", f"namespace scale ({label}): client peak RSS", "MiB", median(peaks),
                 None, None, 400.0, peaks, better="lower"),
        ])

    def listed(self, port, path):
        """Names `p2pfs ls PATH` shows on the daemon at 127.0.0.1:port."""
        rc, out, _ = self.sb.run([self.a.p2pfs, "ls", path, "--nfs", f"127.0.0.1:{port}"], timeout=15)
        if rc != 0:
            return set()
        return {cols[2] for cols in (line.split() for line in out.splitlines()[1:]) if len(cols) >= 3}

    def workload_discovery(self):
        """Workload 7: zero configuration. Inside the sandbox, a veth pair whose
        both ends stay in it (disc0 with 198.18.0.2/24, disc1; nothing leaves
        the namespace: multicast reaches the other daemon's sockets through
        the kernel's multicast loop). A client daemon with no --peer presents the
        namespace; each round a server with no --peer starts (time until its
        file is listed by the client: time to appear), then stops with
        SIGTERM (time until the file is gone: time to leave, on its goodbye;
        the peer timeout is 30 s, far above the 2 s target)."""
        a = self.a
        try:
            for cmd in (["ip", "link", "add", "disc0", "type", "veth", "peer", "name", "disc1"],
                        ["ip", "addr", "add", "198.18.0.2/24", "dev", "disc0"], ["ip", "link", "set", "disc1", "up"],
                        ["ip", "link", "set", "disc0", "up"]):
                run_host(["ip", "netns", "exec", self.sb.name] + cmd)
        except BenchError as e:
            self.skip("discovery", f"no multicast link in the sandbox ({e})")
            return
        port = a.p2pfs_port + 30
        appear, leave = [], []
        client, client_log = self.start_daemon("disc-client", [
            "--nfs", f"127.0.0.1:{port}", "--portmap", "off", "--crawl-interval", "1", "--peer-timeout", "30",
            "--log-level", "debug"], discovery=True)
        try:
            deadline = time.monotonic() + a.start_timeout
            while self.sb.run([self.a.p2pfs, "peers", "--nfs", f"127.0.0.1:{port}"], timeout=15)[0] != 0:
                if client.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"discovery client did not start: {tail(client_log)}")
                time.sleep(0.2)
            for rnd in range(a.rounds):
                label = f"disc-node{rnd + 1}"
                root = self.sb.work / f"{label}-export"
                (root / "disc").mkdir(parents=True, exist_ok=True)
                marker = f"round{rnd + 1}"
                (root / "disc" / marker).write_bytes(b"x")
                started = time.monotonic()
                node, node_log = self.start_daemon(label, [
                    "--export", f"disc={root / 'disc'}", "--listen", "198.18.0.2:7491", "--crawl-interval", "1",
                    "--log-level", "debug"], discovery=True)
                try:
                    seen = None
                    while time.monotonic() - started < 60 and node.poll() is None:
                        if marker in self.listed(port, "/disc"):
                            seen = time.monotonic() - started
                            break
                        time.sleep(0.05)
                finally:
                    stopped = time.monotonic()
                    self.stop_daemon(label, node, node_log)
                if seen is None:
                    self.failures += 1
                    log(f"discovery round {rnd + 1} FAILED: {marker} never listed; {tail(client_log)}")
                    continue
                gone = None
                while time.monotonic() - stopped < 60:
                    if marker not in self.listed(port, "/disc"):
                        gone = time.monotonic() - stopped
                        break
                    time.sleep(0.05)
                if gone is None:
                    self.failures += 1
                    log(f"discovery round {rnd + 1} FAILED: {marker} still listed 60 s after SIGTERM; {tail(client_log)}")
                    continue
                appear.append(seen)
                leave.append(gone)
                log(f"discovery round {rnd + 1}: appeared {seen:.2f} s after start, left {gone:.2f} s after SIGTERM")
        except BenchError as e:
            self.failures += 1
            log(f"discovery FAILED: {e}")
        finally:
            self.stop_daemon("disc-client", client, client_log)
        median = lambda v: statistics.median(v) if v else None
        self.goals.extend([
            Goal("discovery_appear", "discovery, no --peer: a started node's files listed after", "s", median(appear),
                 None, None, 2.0, appear, better="lower"),
            Goal("discovery_leave", "discovery: a cleanly stopped node's files gone after", "s", median(leave),
                 None, None, 2.0, leave, better="lower"),
        ])

    def workload_export_scale(self):
        """Workload exportscale: one node exporting --export-files files in
        --export-dirs directories (1,000,000 in 1,000 by default), watched
        with inotify. Measures the first scan (daemon start until the
        "exports scanned" log line, dentry cache warmed by du), the peak RSS
        (VmHWM) at the end, the daemon's CPU over --idle-seconds of idling,
        how long a new file takes to be listed (p2pfs ls polled every 50 ms;
        each poll is a process of its own, included in the figure), and the
        time to answer a listing sent while a rescan of every directory runs
        (a file touched in each, logged "rescanning" at debug level)."""
        a = self.a
        if "p2pfs" not in self.servers or not Path(a.p2pfs).is_file():
            self.skip("exportscale", f"needs {a.p2pfs} (make bench builds it) and the p2pfs server")
            return
        data = make_export_scale_data(a)
        scale = data / "scale"
        warm_dentries(data)
        port = a.p2pfs_port + 40
        expected = a.export_files + a.export_dirs + 2     # files, directories, "scale", root
        first = peak = idle = listing = None
        latencies = []
        started = time.monotonic()
        node, node_log = self.start_daemon("export-node", [
            "--export", f"scale={scale}", "--nfs", f"127.0.0.1:{port}", "--listen", "127.0.0.1:7640",
            "--portmap", "off", "--log-level", "debug"])
        log_text = lambda: node_log.read_text(errors="replace") if node_log.exists() else ""

        def wait_log(pattern, since, timeout):
            """Time at which `pattern` occurs in the log after offset
            `since`, polled every 20 ms; BenchError when it does not."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if node.poll() is not None:
                    raise BenchError(f"export node exited: {tail(node_log)}")
                if re.search(pattern, log_text()[since:]):
                    return time.monotonic()
                time.sleep(0.02)
            raise BenchError(f"no '{pattern}' in the export node's log after {timeout:.0f} s: {tail(node_log)}")

        touched = []
        try:
            first = wait_log(r"exports scanned", 0, 300) - started
            deadline = time.monotonic() + 300
            entries = 0
            while entries < expected:
                if time.monotonic() > deadline or node.poll() is not None:
                    raise BenchError(f"namespace holds {entries} of {expected} entries: {tail(node_log)}")
                rc, out, _ = self.sb.run([a.p2pfs, "peers", "--nfs", f"127.0.0.1:{port}"], timeout=15)
                m = re.search(r"namespace: (\d+) entries", out or "")
                entries = int(m.group(1)) if m else 0
                if entries < expected:
                    time.sleep(0.2)
            log(f"export scale: {a.export_files} files in {a.export_dirs} directories scanned in {first:.2f} s, "
                f"{entries} entries served after {time.monotonic() - started:.2f} s")

            time.sleep(2)   # the first merge and the peers' first contact
            c0, t0 = cpu_seconds(node.pid), time.monotonic()
            changes = log_text().count("exports changed")
            time.sleep(a.idle_seconds)
            c1, t1 = cpu_seconds(node.pid), time.monotonic()
            if None in (c0, c1):
                raise BenchError("the export node's CPU time could not be read")
            idle = (c1 - c0) / (t1 - t0) * 100
            rescans = log_text().count("exports changed") - changes
            log(f"export scale: idle CPU {idle:.3f} % of a core over {t1 - t0:.0f} s ({rescans} catalog changes meanwhile)")

            for rnd in range(max(3, a.rounds)):
                directory = f"d{(rnd * 7919) % a.export_dirs:04d}"
                name = f"new-{os.getpid()}-{rnd}"
                path = scale / directory / name
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
                t0 = time.monotonic()
                seen = None
                while time.monotonic() - t0 < 30:
                    if name in self.listed(port, f"/scale/{directory}"):
                        seen = time.monotonic() - t0
                        break
                    time.sleep(0.05)
                os.unlink(path)
                if seen is None:
                    self.failures += 1
                    log(f"export scale round {rnd + 1} FAILED: {directory}/{name} not listed within 30 s")
                    continue
                gone_started = time.monotonic()
                while time.monotonic() - gone_started < 30 and name in self.listed(port, f"/scale/{directory}"):
                    time.sleep(0.05)
                latencies.append(seen)
                log(f"export scale round {rnd + 1}: new file listed after {seen:.2f} s, "
                    f"gone {time.monotonic() - gone_started:.2f} s after its deletion")

            # A rescan of every directory, and a listing sent while it runs.
            since = len(log_text())
            for d in range(a.export_dirs):
                path = scale / f"d{d:04d}" / f".bench-touch-{os.getpid()}"
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
                touched.append(path)
            wait_log(r"rescanning", since, 60)
            t0 = time.monotonic()
            names = self.listed(port, "/scale/d0000")
            answered = time.monotonic()
            running = not re.search(r"exports changed", log_text()[since:])
            done = wait_log(r"exports changed", since, 300)
            if "f0000000" not in names:
                raise BenchError(f"listing /scale/d0000 during the rescan lacked f0000000 ({len(names)} names)")
            listing = answered - t0
            log(f"export scale: listing answered in {listing:.2f} s, "
                f"{'while the rescan ran' if running else 'AFTER the rescan ended (too short to overlap)'}; "
                f"the rescan of {a.export_dirs} directories ended {done - t0:.2f} s after the listing was sent")
            if not running and not a.smoke:
                listing = None     # no figure rather than a figure that proves nothing
            status = Path(f"/proc/{node.pid}/status").read_text()
            peak = int(re.search(r"^VmHWM:\s*(\d+) kB", status, re.M).group(1)) / 1024
            log(f"export scale: peak RSS {peak:.0f} MiB")
        except (BenchError, OSError, AttributeError) as e:
            self.failures += 1
            log(f"export scale FAILED: {e}")
        finally:
            for path in touched:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            self.stop_daemon("export-node", node, node_log)
        median = lambda v: statistics.median(v) if v else None
        label = f"{a.export_files} files in {a.export_dirs} dirs"
        self.goals.extend([
            Goal("exportscale_first", f"export scale ({label}): first scan, warm dentries", "s", first,
                 None, None, 10.0, [first] if first is not None else [], better="lower"),
            Goal("exportscale_rss", f"export scale ({label}): peak RSS", "MiB", peak,
                 None, None, 400.0, [peak] if peak is not None else [], better="lower"),
            Goal("exportscale_idle", f"export scale ({label}): idle CPU over {a.idle_seconds:g} s", "%", idle,
                 None, None, 0.1, [idle] if idle is not None else [], better="lower"),
            Goal("exportscale_newfile", f"export scale ({label}): new file listed after", "s", median(latencies),
                 None, None, 2.0, latencies, better="lower"),
            Goal("exportscale_listing", f"export scale ({label}): listing answered during a rescan", "s", listing,
                 None, None, 1.0, [listing] if listing is not None else [], better="lower"),
        ])

    def run_all(self):
        table = {
            "seqread": self.workload_seqread,
            "randread": self.workload_randread,
            "meta": self.workload_meta,
            "readdirplus": self.workload_readdirplus,
            "seqread41": lambda: self.workload_seqread(v41=True),
            "randread41": lambda: self.workload_randread(v41=True),
            "meta41": lambda: self.workload_meta(v41=True),
            "readdir41": lambda: self.workload_readdirplus(v41=True),
            "forwarded": self.workload_forwarded,
            "nsscale": self.workload_namespace_scale,
            "discovery": self.workload_discovery,
            "metrics": self.workload_metrics,
            "exportscale": self.workload_export_scale,
        }
        table.update(self.linked_workloads())
        for wid in WORKLOADS:
            if wid in self.a.workloads:
                table[wid]()


def tcp_ceiling(sb, a):
    """Loopback TCP throughput inside the namespace, median of the rounds."""
    samples = []
    for _ in range(a.rounds):
        rc, out, err = sb.run([TCPCEILING, "--bytes", str(a.tcp_bytes), "--timeout", "120"],
                              timeout=140)
        if rc != 0:
            log(f"tcpceiling failed: {err.strip()}")
            return None
        try:
            samples.append(json.loads(out.strip().splitlines()[-1])["mib_s"])
        except (ValueError, IndexError, KeyError):
            return None
    return {"mib_s": statistics.median(samples), "samples": samples, "bytes": a.tcp_bytes}


# --------------------------------------------------------------------------
# report

def machine_info():
    info = {"kernel": platform.release(), "python": platform.python_version()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = models[0] if models else platform.processor()
        info["cpus"] = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
        mhz = re.findall(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)
        if mhz:
            info["cpu_mhz"] = float(mhz[0])
    except OSError:
        pass
    try:
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if mem:
            info["mem_gib"] = round(int(mem.group(1)) / (1 << 20), 1)
    except OSError:
        pass
    return info


def render_table(rows, ceiling):
    head = ("workload", "p2pfs", "ganesha", "ratio", "target")
    lines = []
    for r in rows:
        unit = f" ({r.unit}{', lower is better' if r.better == 'lower' else ''})"
        q = ratio(r)
        target = "" if r.target is None else \
            f">= {r.target:g} " + {True: "met", False: "MISSED", None: "n/a"}[r.met]
        cells = (r.label + unit,
                 fmt_cell(r, "p2pfs"),
                 fmt_cell(r, "ganesha"),
                 "pending" if r.pending else (f"{q:.2f}" if q is not None else "n/a"),
                 target)
        lines.append(cells)
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(5)]
    out = []
    fmt = lambda c: "  ".join([c[0].ljust(widths[0])] + [c[i].rjust(widths[i]) for i in range(1, 5)]).rstrip()
    out.append(fmt(head))
    out.append("  ".join("-" * w for w in widths))
    out.extend(fmt(c) for c in lines)
    if ceiling:
        out.append("")
        line = f"loopback TCP ceiling: {ceiling['mib_s']:.1f} MiB/s"
        seq = next((r for r in rows if r.id == "seqread"), None)
        if seq:
            parts = []
            for s in ("p2pfs", "ganesha"):
                v = seq.value(s)
                if v is not None and not seq.cells[s]:
                    parts.append(f"{s} {100 * v / ceiling['mib_s']:.0f}%")
            if parts:
                line += " (seqread reaches " + ", ".join(parts) + ")"
        out.append(line)
    out.append("ratio = p2pfs/ganesha (inverted for lower-is-better rows): above 1 means p2pfs is better")
    return "\n".join(out)


def write_results(path, a, rows, servers, ceiling, runner, started, elapsed, table):
    doc = {
        "generated": started,
        "mode": "smoke" if a.smoke else "full",
        "elapsed_seconds": round(elapsed, 1),
        "machine": machine_info(),
        "config": {
            "rounds": a.rounds, "file_size": a.file_size, "tree_files": a.tree_files,
            "flat_entries": a.flat_entries, "seq_block": a.seq_block,
            "seq_inflight": a.seq_inflight, "verify": not a.no_verify,
            "rand_block": a.rand_block, "rand_inflight": a.rand_inflight,
            "rand_seconds": a.rand_seconds, "meta_inflight": a.meta_inflight,
            "meta_seconds": a.meta_seconds, "readdir_repeat": a.readdir_repeat,
            "readdir_dircount": a.readdir_dircount, "readdir_maxcount": a.readdir_maxcount,
            "client": "Benchmarks/bin/nfsload (libnfs, one TCP connection)",
            "client_v41": "Benchmarks/bin/nfs4load (own NFSv4.1 client, one TCP connection, "
                          "one session slot per request in flight)",
        },
        "servers": {name: {"status": srv.status, "url": srv.url, "url_v41": srv.url4,
                           "v41_error": srv.v41_error, **srv.detail}
                    for name, srv in servers.items()},
        "tcp_ceiling_mib_s": ceiling["mib_s"] if ceiling else None,
        "tcp_ceiling_samples": ceiling["samples"] if ceiling else None,
        "rows": [],
        "table": table.splitlines(),
    }
    for r in rows:
        q = ratio(r)
        entry = {"id": r.id, "workload": r.label, "unit": r.unit, "better": r.better}
        for s in ("p2pfs", "ganesha"):
            if r.pending:
                entry[s] = "pending"
            elif r.cells[s]:
                entry[s] = r.cells[s]
            else:
                entry[s] = r.value(s)
        entry["ratio"] = "pending" if r.pending else (round(q, 4) if q is not None else None)
        entry["target"] = r.target
        entry["met"] = r.met
        entry["samples"] = r.samples
        doc["rows"].append(entry)
    doc["goals"] = [
        {"id": g.id, "workload": g.label, "unit": g.unit, "value": g.value, "reference": g.reference,
         "reference_workload": g.reference_label, "ratio": g.measure if g.reference_label else None,
         "target": g.target, "better": g.better, "met": g.met, "samples": g.samples}
        for g in (runner.goals if runner else [])
    ]
    doc["runs"] = runner.details if runner else {}
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


# --------------------------------------------------------------------------
# main

def smoke_problems(a, servers, runner):
    """What makes a smoke run prove nothing: a requested server absent (for
    p2pfs: no binary), a workload skipped, a row or goal without a p2pfs
    figure. A full run reports these as n/a instead."""
    problems = []
    for name in a.servers:
        srv = servers.get(name)
        if srv is None or srv.status.startswith("absent") or srv.status == "not started":
            problems.append(f"server {name} is {srv.status if srv else 'missing'}")
    problems += [f"workload skipped: {s}" for s in runner.skipped]
    for row in runner.rows:
        if "p2pfs" in a.servers and not row.samples["p2pfs"]:
            problems.append(f"no p2pfs figure for {row.id} ({row.cells['p2pfs'] or 'nothing measured'})")
    for goal in runner.goals:
        if goal.value is None:
            problems.append(f"no figure for {goal.id}")
    ran = {row.id.split("_")[0] for row in runner.rows} | {g.id.split("_")[0] for g in runner.goals}
    for wid in a.workloads:
        if wid not in ran and not any(s.startswith(wid + ":") for s in runner.skipped):
            problems.append(f"workload {wid} produced no row")
    return problems


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main(argv):
    a = parse_args(argv)
    if os.geteuid() != 0:
        print("bench.py must run as root (it creates a network namespace)", file=sys.stderr)
        return 2
    for tool in ("ip", "unshare"):
        if not shutil.which(tool):
            print(f"bench.py needs {tool}", file=sys.stderr)
            return 2
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t_start = time.monotonic()
    work = Path(a.work_dir)
    sb = None
    rc = 0
    runner = None
    servers = {}
    try:
        ensure_tools()
        cleanup_stale_namespaces()
        data = make_data(a)
        warm_caches(data)
        work.mkdir(parents=True, exist_ok=True)
        sb = Sandbox(work)
        sb.create()
        start_rpcbind(sb)
        if "ganesha" in a.servers:
            servers["ganesha"] = start_ganesha(sb, a, data)
        if "p2pfs" in a.servers:
            servers["p2pfs"] = start_p2pfs(sb, a, data)
        servers = {k: servers[k] for k in ("p2pfs", "ganesha") if k in servers}
        ceiling = tcp_ceiling(sb, a)
        if ceiling:
            log(f"loopback TCP ceiling {ceiling['mib_s']:.1f} MiB/s")
        runner = Runner(a, sb, data, servers)
        runner.run_all()
        elapsed = time.monotonic() - t_start
        table = render_table(runner.rows, ceiling)
        goals = render_goals(runner.goals)
        if goals:
            table += "\n\n" + goals
        print()
        print(f"p2pfs vs NFS-Ganesha, NFSv3 and NFSv4.1 over loopback, median of {a.rounds} round(s)"
              f"{' [smoke]' if a.smoke else ''}")
        for name, srv in servers.items():
            print(f"  {name}: {srv.status}{' at ' + srv.url if srv.url else ''}"
                  f"{', NFSv4.1 at ' + srv.url4 if srv.url4 else ''}")
        print()
        print(table)
        print(f"\ntotal time {elapsed:.0f} s; results in {a.results}")
        write_results(a.results, a, runner.rows, servers, ceiling, runner, started, elapsed, table)
        # Exit status: 1 when a run failed or a present server did not
        # start or died; an absent p2pfs binary is not an error (except
        # for --smoke, which must have measured p2pfs: smoke_problems).
        if runner.failures:
            rc = 1
        for srv in servers.values():
            if not srv.status.startswith("absent") and not srv.running:
                rc = 1
        # p2pfs must stop on SIGTERM with status 0 (not crash on the way out).
        p2 = servers.get("p2pfs")
        if p2 is not None and p2.proc is not None and p2.status == "running":
            problem = sb.stop(p2.proc)
            if problem:
                log(f"p2pfs FAILED at shutdown: {problem}\n{tail(p2.log)}")
                rc = 1
        if a.smoke:
            problems = smoke_problems(a, servers, runner)
            for problem in problems:
                log(f"smoke FAILED: {problem}")
            if problems:
                rc = 1
    except BenchError as e:
        log(f"error: {e}")
        rc = 2
    except (KeyboardInterrupt, Interrupted) as e:
        log(f"interrupted ({str(e) or 'SIGINT'}); cleaning up")
        rc = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if sb is not None:
            sb.close()
        if work.exists() and not a.keep_work and rc in (0, 130):
            shutil.rmtree(work, ignore_errors=True)
        elif work.exists():
            log(f"logs kept in {work}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
