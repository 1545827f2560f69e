#!/usr/bin/env python3
"""A NATS publisher written with Python's standard library only, to show `halfopen run
--client-cmd` measuring a client that is not the lab's own.

It speaks the NATS text protocol directly (INFO, CONNECT, PUB, PING/PONG) and publishes the
numbers 1, 2, 3, ... to $HALFOPEN_SUBJECT at $HALFOPEN_RATE per second, printing "sent <n>" once
the kernel has accepted each one. Its only dead-peer detection is TCP_USER_TIMEOUT (default 3 s,
$USER_TIMEOUT_MS): data unacknowledged that long fails the socket. On any failure it says so,
closes, and reconnects after 250 ms.
"""
import os
import select
import socket
import time

HOST = os.environ["HALFOPEN_HOST"]
PORT = int(os.environ["HALFOPEN_PORT"])
SUBJECT = os.environ["HALFOPEN_SUBJECT"].encode()
RATE = float(os.environ.get("HALFOPEN_RATE") or 10) or 10
USER_TIMEOUT_MS = int(os.environ.get("USER_TIMEOUT_MS", "3000"))


def connect():
    sock = socket.create_connection((HOST, PORT), timeout=2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.recv(4096)  # the server's INFO line
    sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"python-example"}\r\n')
    return sock


last_seq = 0


def publish_until_failure(sock):
    global last_seq
    period = 1 / RATE
    due = time.monotonic() + period
    while True:
        readable, _, _ = select.select([sock], [], [], max(0.0, due - time.monotonic()))
        if readable:
            data = sock.recv(4096)
            if not data:
                raise ConnectionError("the server closed the connection")
            if b"PING" in data:
                sock.sendall(b"PONG\r\n")
            continue
        payload = str(last_seq + 1).encode()
        sock.sendall(b"PUB %s %d\r\n%s\r\n" % (SUBJECT, len(payload), payload))
        last_seq += 1
        print(f"sent {last_seq}", flush=True)
        due += period


while True:
    try:
        sock = connect()
        print(f"connected to {HOST}:{PORT}", flush=True)
    except OSError as err:
        print(f"connect failed: {err}", flush=True)
        time.sleep(0.25)
        continue
    try:
        publish_until_failure(sock)
    except OSError as err:
        print(f"connection lost: {err}", flush=True)
    finally:
        sock.close()
    time.sleep(0.25)
