"""
agent-liar.py MODE HOST: a snap --server that lies, for snap's
--remote-schema (HOST is ignored).  It answers HELLO, then sends a root
directory and, as MODE says:

  dotdot      an entry named "../escape"
  order       "b" before "a"
  underfile   "f", a regular file, then "f/x"
  slash       an entry whose name is "a//b"
  bigdata     a 10-byte file "f" whose content, when asked for, is
              40 MiB
  nocredit    more entries than the client granted
  version     protocol version 1 in its HELLO
  mutestart   nothing at all, not even HELLO (it sleeps)
  mute        nothing after HELLO
  mutemid     a file "f", then nothing when it is asked for
  whole2k     a 2000-byte file "f" of "a"s, honestly
  baddelta    "f" changed; asked for a delta, a reserved opcode
  emptydelta  "f" changed; asked for a delta, no bytes at all
  cutdelta    "f" changed; asked for a delta, one cut short

Run it with /usr/bin/python3.
"""
import os
import struct
import sys
import time

HELLO, LIST, MORE, GET, SIG = 1, 2, 3, 4, 5
SHELLO, ENT, END, DATA, DELTA, DONE = 101, 102, 103, 104, 105, 106


def send(t, payload):
    os.write(1, struct.pack(">IB", len(payload) + 1, t) + payload)


def recv():
    h = sys.stdin.buffer.read(5)
    if len(h) < 5:
        return None, None
    n, t = struct.unpack(">IB", h)
    return t, sys.stdin.buffer.read(n - 1)


def s(b):
    return struct.pack(">I", len(b)) + b


def ent(path, mode, size=0, ino=1, mtime=1600000000):
    return (s(path) + struct.pack(">IB", 0, 0) +
            struct.pack(">III", mode, 0, 0) +
            struct.pack(">QQQQQ", 1, ino, 1, 0, size) +
            struct.pack(">QIQI", mtime, 0, mtime, 0) +
            struct.pack(">I", 0xffffffff) + struct.pack(">III", 0, 61, 0))


mode = sys.argv[1]
t, p = recv()
if mode == "mutestart":
    time.sleep(60)
send(SHELLO, struct.pack(">I", 1 if mode == "version" else 3))
if mode == "version":
    sys.exit(0)
if mode == "mute":
    time.sleep(60)
t, p = recv()          # LIST
t, p = recv()          # MORE
credit = struct.unpack(">I", p)[0]
D, F = 0o40755, 0o100644
ents = [ent(b"", D)]
if mode == "dotdot":
    ents.append(ent(b"../escape", F))
elif mode == "order":
    ents += [ent(b"b", F, ino=2), ent(b"a", F, ino=3)]
elif mode == "underfile":
    ents += [ent(b"f", F, ino=2), ent(b"f/x", F, ino=3)]
elif mode == "slash":
    ents.append(ent(b"a//b", F, ino=2))
elif mode in ("bigdata", "mutemid"):
    ents.append(ent(b"f", F, size=10, ino=2))
elif mode == "whole2k":
    ents.append(ent(b"f", F, size=2000, ino=2))
elif mode in ("baddelta", "emptydelta", "cutdelta"):
    ents.append(ent(b"f", F, size=2000, ino=2, mtime=1600000100))
elif mode == "nocredit":
    ents += [ent(b"n%06d" % i, F, ino=i + 2) for i in range(credit + 10)]
for e in ents:
    send(ENT, e)
send(END, struct.pack(">I", 0))
while True:
    t, p = recv()
    if t is None:
        break
    if t == GET:
        rid = struct.unpack(">I", p[:4])[0]
        if mode == "mutemid":
            time.sleep(60)
        if mode == "bigdata":
            chunk = b"x" * (256 << 10)
            for i in range(160):
                send(DATA, struct.pack(">I", rid) + chunk)
        if mode == "whole2k":
            send(DATA, struct.pack(">I", rid) + b"a" * 2000)
        magic = struct.pack(">I", 0x72730236)
        if mode == "baddelta":
            send(DELTA, struct.pack(">I", rid) + magic + b"\x55\x00")
        if mode == "cutdelta":
            send(DELTA, struct.pack(">I", rid) + magic + b"\x43" +
                 struct.pack(">I", 2000) + b"b" * 1000)
        send(DONE, struct.pack(">II", rid, 0))
