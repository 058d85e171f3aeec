# p2pfs — build, run, test.
#
#   make run     install system packages, build, run a node on the default config
#   make test    install system packages, then run every test (CI runs exactly this)
#   make build   release binary at .build/release/p2pfs
#   make bench   benchmark against NFS-Ganesha (see Docs/performance.md)
#   make fuzz    run the libFuzzer targets (see Fuzz/README.md)
#   make deb     the Debian package, .build/deb/p2pfs_<version>_amd64.deb (Docs/operations.md)

SWIFT        ?= swift
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PIP_PACKAGES := zeroconf==0.154.0 prometheus_client==0.26.0
APT_PACKAGES := libtirpc-dev libnfs-utils libnfs-dev rpcbind nfs-common iproute2 procps psmisc python3 gcc libc6-dev nfs-ganesha nfs-ganesha-vfs nfs-ganesha-proxy-v4 qemu-system-x86 busybox-static cpio kmod xz-utils zstd avahi-daemon avahi-utils dbus dpkg-dev lintian debootstrap

.PHONY: setup test-setup build debug run test bench bench-smoke bench-tools bench-simulator bench-plaintext deb

# Installs only what is missing, so repeated runs cost nothing.
setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

# What only the tests use, for the python3 the tests will find on PATH:
# python-zeroconf, the independent mDNS client of the discovery tests, and
# prometheus_client, the independent parser of the metrics tests.
test-setup: setup
	@python3 -c 'import zeroconf, prometheus_client' 2>/dev/null || python3 -m pip install --quiet $(PIP_PACKAGES)

# Linked with the Swift runtime inside (as the package ships it), so the
# kernel test, the package and the benchmarks (the peer simulator too)
# share one release build: other flags would rebuild every module.
build: setup
	$(SWIFT) build -c release --product p2pfs --static-swift-stdlib

debug: setup
	$(SWIFT) build

run: build
	.build/release/p2pfs daemon $(ARGS)

# The Debian package: a release binary with the Swift runtime linked in, the
# systemd units, /etc/p2pfs/p2pfs.toml, the man page and completions, then
# lintian (Packaging/deb/build-deb.sh).
deb: setup
	SWIFT=$(SWIFT) Packaging/deb/build-deb.sh

# Installs that package on a clean Debian 12 (debootstrap, no Swift) booted
# under qemu and runs it as a service (see Tests/package/README.md).
.PHONY: test-package
test-package: deb
	Tests/package/run.sh

# Unit tests, then integration tests (real daemons driven with the libnfs
# tools and nfsload, in network namespaces of their own: run apart so the
# unit tests' timeouts are not measured on a machine busy with daemons),
# then the real kernel client in VMs and the Debian package installed and
# run as a service on a clean Debian VM (side by side), then a benchmark
# smoke run.
test: test-setup bench-tools
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip IntegrationTests
	$(SWIFT) test --skip-build --filter IntegrationTests
	$(MAKE) test-vms
	$(MAKE) bench-smoke

# Benchmarks against NFS-Ganesha (Docs/performance.md).  The C tools go to
# Benchmarks/bin/; bench.py needs root (private network namespace).
# Benchmarks/loadcommon holds what the load tools share (options, URL,
# messages; the workloads' figures and reports), compiled into each.
BENCH_CFLAGS ?= -O2 -Wall -Wextra
BENCH_ARGS   ?=
LOADARGS     := Benchmarks/loadcommon/loadargs.c
LOADWORK     := Benchmarks/loadcommon/loadwork.c

bench-tools: setup
	mkdir -p Benchmarks/bin
	$(CC) $(BENCH_CFLAGS) -o Benchmarks/bin/nfsload Benchmarks/nfsload/nfsload.c $(LOADARGS) $(LOADWORK) -lnfs -lm
	$(CC) $(BENCH_CFLAGS) -o Benchmarks/bin/nfs4load Benchmarks/nfs4load/nfs4load.c $(LOADARGS) $(LOADWORK) -lm
	$(CC) $(BENCH_CFLAGS) -o Benchmarks/bin/tcpceiling Benchmarks/tcpceiling/tcpceiling.c $(LOADARGS) -lm

bench-simulator: setup
	$(SWIFT) build -c release --product p2pfs-peer-simulator --static-swift-stdlib

bench: build bench-tools bench-simulator bench-plaintext
	$(SUDO) python3 Benchmarks/bench.py --p2pfs-plaintext .build-plaintext/release/p2pfs $(BENCH_ARGS)

# The reference of the TLS row: this code with its peers in plaintext
# (-D P2PFS_PLAINTEXT_PEERS; never a release), built apart in .build-plaintext.
bench-plaintext: setup
	$(SWIFT) build -c release --product p2pfs --static-swift-stdlib -Xswiftc -DP2PFS_PLAINTEXT_PEERS --scratch-path .build-plaintext

bench-smoke: build bench-tools bench-simulator
	$(SUDO) python3 Benchmarks/bench.py --smoke $(BENCH_ARGS)

# Boots a Debian kernel under qemu and runs the real NFS client against p2pfs
# (see Tests/kernel/README.md): three nodes with the system rpcbind, one node
# (NFSv4.1 and NFSv3, on Debian 13's kernel), one node serving its own
# portmapper, and one node on a machine without rpcbind.
#
# Two VMs at a time: qemu's TCG keeps about one core busy per guest, so on
# two cores a pair takes little longer than one alone. The kernels are
# fetched first (one download each); --output-sync prints each run whole
# when it ends, and --keep-going lets the others finish when one fails.
KERNEL_RUNS := kernel-peers kernel-single kernel-embedded kernel-bare kernel-single-v3
VM_JOBS     := -j2 --output-sync=target --keep-going
.PHONY: test-kernel test-vms kernel-fetch $(KERNEL_RUNS)
test-kernel: build kernel-fetch
	$(MAKE) $(VM_JOBS) $(KERNEL_RUNS)

# make test: the kernel runs and the package run share the two slots. The
# package (build, lintian, debootstrap, boot) is the longest chain, so it
# starts first; a goal without prerequisites is started in the order given.
test-vms: build kernel-fetch
	$(MAKE) $(VM_JOBS) package-vm $(KERNEL_RUNS)

.PHONY: package-vm
package-vm:
	$(MAKE) test-package

kernel-fetch:
	P2PFS_SCENARIO=fetch Tests/kernel/run.sh
	P2PFS_SCENARIO=fetch P2PFS_KERNEL_SUITE=trixie Tests/kernel/run.sh

KERNEL_RUN = P2PFS_KERNEL_WORK=Tests/kernel/work/$@ Tests/kernel/run.sh
kernel-peers:
	P2PFS_SCENARIO=peers $(KERNEL_RUN)
kernel-single:
	P2PFS_SCENARIO=single P2PFS_KERNEL_SUITE=trixie $(KERNEL_RUN)
kernel-embedded:
	P2PFS_SCENARIO=embedded $(KERNEL_RUN)
kernel-bare:
	P2PFS_SCENARIO=bare $(KERNEL_RUN)
kernel-single-v3:
	P2PFS_SCENARIO=single P2PFS_MOUNT_VERS=3 P2PFS_KERNEL_SUITE=trixie $(KERNEL_RUN)

# Fuzzes everything that parses strangers' bytes (Fuzz/README.md): each
# libFuzzer target for FUZZ_SECONDS (default 60), one at a time, then a
# summary; fails naming the reproducer if one crashed. Not part of `make
# test`, which replays the checked-in corpus and regressions instead.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) Fuzz/run.sh
