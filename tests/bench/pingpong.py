"""Socketpair ping-pong of N one-byte round trips between two processes
(issue 15's measurement): python3 pingpong.py N"""
import os
import socket
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    while True:
        byte = b.recv(1)
        if not byte:
            break
        b.send(byte)
    os._exit(0)
b.close()
for _ in range(n):
    a.send(b"p")
    a.recv(1)
a.close()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
