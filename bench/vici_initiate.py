#!/usr/bin/env python3
"""Initiate many strongSwan CHILD_SAs at once over one vici connection.

  vici_initiate.py SOCKET PREFIX FIRST LAST [CONNECTIONS]

sends `initiate {child=PREFIX<i>, timeout=-1}` for i = FIRST..LAST over
CONNECTIONS (default 16) parallel connections to the vici unix socket SOCKET
(charon handles each initiate request for several ms in the vici thread, so one
connection would throttle the initiation rate below charon's negotiation rate). timeout=-1 makes charon queue the
initiation and answer at once, so this is the strongSwan analogue of one
`ike cmd=activate` starting every tunnel concurrently (no swanctl process per
tunnel, which would cost more CPU on the host than charon's own work).

Prints "requested=N refused=M" on stdout; exit 1 if any request was refused.
Standard library only (the vici wire format is simple: see strongSwan's
src/libcharon/plugins/vici/README.md).
"""
import socket
import struct
import sys
import threading

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
KEY_VALUE = 3


def message(pairs):
    out = b""
    for k, v in pairs:
        k, v = k.encode(), v.encode()
        out += bytes([KEY_VALUE, len(k)]) + k + struct.pack("!H", len(v)) + v
    return out


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("vici socket closed")
        buf += chunk
    return buf


def parse_kv(body):
    """Top-level key/value pairs of a vici message (sections/lists skipped)."""
    out, i, depth = {}, 0, 0
    while i < len(body):
        t = body[i]
        i += 1
        if t == 1:  # SECTION_START
            n = body[i]; i += 1 + n; depth += 1
        elif t == 2:  # SECTION_END
            depth -= 1
        elif t == 3:  # KEY_VALUE
            n = body[i]; k = body[i + 1:i + 1 + n].decode(); i += 1 + n
            (m,) = struct.unpack("!H", body[i:i + 2]); v = body[i + 2:i + 2 + m]; i += 2 + m
            if depth == 0:
                out[k] = v.decode(errors="replace")
        elif t == 4:  # LIST_START
            n = body[i]; i += 1 + n
        elif t == 5:  # LIST_ITEM
            (m,) = struct.unpack("!H", body[i:i + 2]); i += 2 + m
        elif t == 6:  # LIST_END
            pass
        else:
            break
    return out


def worker(path, prefix, numbers, result, idx):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    name = b"initiate"
    refused = 0
    for i in numbers:
        body = bytes([CMD_REQUEST, len(name)]) + name + message(
            [("child", f"{prefix}{i}"), ("timeout", "-1"), ("init-limits", "no")])
        s.sendall(struct.pack("!I", len(body)) + body)
        (n,) = struct.unpack("!I", recv_exact(s, 4))
        reply = recv_exact(s, n)
        if reply[0] != CMD_RESPONSE:
            refused += 1
            continue
        kv = parse_kv(reply[1:])
        if kv.get("success") != "yes":
            refused += 1
            if refused <= 3:
                print(f"{prefix}{i}: {kv.get('errmsg', 'refused')}", file=sys.stderr)
    s.close()
    result[idx] = refused


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    path, prefix, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    conns = int(sys.argv[5]) if len(sys.argv) == 6 else 16
    nums = list(range(first, last + 1))
    conns = max(1, min(conns, len(nums)))
    result = [0] * conns
    threads = [threading.Thread(target=worker, args=(path, prefix, nums[k::conns], result, k))
               for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = sum(result)
    print(f"requested={len(nums)} refused={refused}")
    sys.exit(1 if refused else 0)


if __name__ == "__main__":
    main()
