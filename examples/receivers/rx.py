#!/usr/bin/env python3
"""A minimal netlab `exec` receiver in Python: one AF_PACKET socket, one recv per frame.

    [[receiver]]
    method = "exec"
    name = "my-py-rx"
    command = "./rx.py {iface}"

The contract (docs/exec-receiver.md): netlab starts it inside the lab's
namespace, pinned to the receive core; it prints READY once its socket is bound (within 5 s),
then the traffic starts; on SIGINT it prints `RESULT-RX <frames>` and `RESULT-IP <IPv4 frames>`
and exits 0. It dies with netlab (SIGKILL from the kernel).

do_something: bytes 12-13 of the Ethernet header == 0x0800 -> one more IPv4 frame.
"""

import signal
import socket
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} IFACE", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((sys.argv[1], 0))
    sock.settimeout(0.1)  # look at the stop flag at least every 100 ms

    stop = False

    def on_sigint(_signum, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_sigint)
    print("READY", flush=True)

    frames = ipv4 = 0
    buf = bytearray(2048)
    while not stop:
        try:
            n, addr = sock.recvfrom_into(buf)
        except (socket.timeout, InterruptedError):
            continue
        if addr[2] == PACKET_OUTGOING:
            continue
        frames += 1
        if n >= 14 and buf[12] == 0x08 and buf[13] == 0x00:
            ipv4 += 1
    print(f"RESULT-RX {frames}\nRESULT-IP {ipv4}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
