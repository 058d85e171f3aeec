#!/usr/bin/env python3
"""Turns real clients' traffic into fuzz seeds.

Runs a TCP relay between a client and a p2pfs daemon, records what the
client sends, and writes it as seeds of the `record` target (the stream as
it came) and of the `nfs` or `peer` target (the calls one by one, in their
input formats; see NFSFuzz and PeerFuzz).

    capture.py relay LISTEN_PORT TARGET_PORT OUT_DIR    # until interrupted
    capture.py seeds OUT_DIR CORPUS_DIR NAME            # recorded streams -> seeds

Used once with a daemon serving NFS on 127.0.0.1 and exporting files to
peers, the libnfs tools (nfs-ls, nfs-cat, nfs-stat) pointed at the relay
(nfs://127.0.0.1/?version=3&nfsport=P&mountport=P), and a second daemon and
`p2pfs peers` pointed at a relay in front of the peer port.
"""

import os
import socket
import struct
import sys
import threading

NFS, MOUNT, NLM = 100003, 100005, 100021
PEER = 0x20503246


def relay(listen_port, target_port, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(16)
    count = 0
    while True:
        client, _ = server.accept()
        count += 1
        upstream = socket.create_connection(("127.0.0.1", target_port))
        log = open(os.path.join(out_dir, "stream-%03d" % count), "wb")

        def pump(source, sink, record):
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    if record:
                        record.write(data)
                        record.flush()
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, sink):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(client, upstream, log), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, None), daemon=True).start()


def records(stream):
    """The RPC records of a record-marked stream."""
    offset, pending = 0, b""
    while offset + 4 <= len(stream):
        (mark,) = struct.unpack(">I", stream[offset:offset + 4])
        length = mark & 0x7FFFFFFF
        fragment = stream[offset + 4:offset + 4 + length]
        offset += 4 + length
        pending += fragment
        if mark & 0x80000000:
            yield pending
            pending = b""


def call(record):
    """(program, version, procedure, arguments) of an RPC call record, or None."""
    if len(record) < 24:
        return None
    xid, kind, rpcvers, program, version, procedure = struct.unpack(">6I", record[:24])
    if kind != 0 or rpcvers != 2:
        return None
    offset = 24
    for _ in range(2):  # credential, verifier
        (flavor, length) = struct.unpack(">2I", record[offset:offset + 8])
        offset += 8 + length + (-length % 4)
    return program, version, procedure, record[offset:]


def chunk(data):
    return struct.pack(">H", len(data)) + data


def seeds(out_dir, corpus_dir, name):
    for stream_name in sorted(os.listdir(out_dir)):
        stream = open(os.path.join(out_dir, stream_name), "rb").read()
        if not stream:
            continue
        base = "%s-%s" % (name, stream_name.replace("stream-", ""))
        # record: limit 1 MiB + 64 KiB, the stream in reads of 100 bytes.
        write(corpus_dir, "record", base, bytes([3 | 7 << 2]) + stream[:16384])
        nfs, peer = [], []
        for record in records(stream):
            decoded = call(record)
            if not decoded:
                continue
            program, version, procedure, arguments = decoded
            if len(arguments) > 0xFFFF or procedure > 0xFF:
                continue
            if program == NFS:
                nfs.append(bytes([0, procedure]) + chunk(arguments))
            elif program == MOUNT:
                nfs.append(bytes([1 | {3: 0, 1: 1, 2: 2}.get(version, 0) << 2, procedure]) + chunk(arguments))
            elif program == NLM:
                nfs.append(bytes([2, procedure]) + chunk(arguments))
            elif program == PEER:
                peer.append(bytes([0, procedure]) + chunk(arguments))
        # At most 32 calls per input, as the harnesses take them.
        for index in range(0, len(nfs), 32):
            write(corpus_dir, "nfs", "%s-%d" % (base, index // 32), b"\x00" + b"".join(nfs[index:index + 32]))
        for index in range(0, len(peer), 32):
            write(corpus_dir, "peer", "%s-%d" % (base, index // 32), b"\x80" + b"".join(peer[index:index + 32]))


def write(corpus_dir, target, name, data):
    directory = os.path.join(corpus_dir, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    print("%s/%s: %d bytes" % (target, name, len(data)))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "relay":
        relay(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "seeds":
        seeds(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__)
        sys.exit(2)
