"""
sftp-proxy.py MODE [ARG ...] -- SERVER [ARG ...]: a hostile SFTP server
for mount-remote -S.  Relays SFTP v3 between standard input/output and
SERVER (normally /usr/lib/openssh/sftp-server), misbehaving as MODE says:

  log FILE          behave; append "TYPE PATH" for each request to FILE
  dup NAME          each READDIR entry NAME is followed by a second NAME
                    that claims to be a directory
  longname NAME N   each READDIR entry NAME is followed by a file whose
                    name is N bytes long
  endless DIR [N]   a listing of a directory named DIR never ends: every
                    READDIR gets fresh, distinct entries with names of
                    N bytes (default 12)
  longlink NAME N   READLINK of a path ending in /NAME answers an N-byte
                    target

Run it with /usr/bin/python3 (the system's, whatever PATH says).
"""
import os
import select
import struct
import subprocess
import sys

FXP_OPEN, FXP_CLOSE, FXP_READ, FXP_LSTAT = 3, 4, 5, 7
FXP_FSTAT, FXP_OPENDIR, FXP_READDIR = 8, 11, 12
FXP_REALPATH, FXP_STAT, FXP_READLINK = 16, 17, 19
FXP_HANDLE, FXP_NAME = 102, 104
PATH_TYPES = (FXP_OPEN, FXP_LSTAT, FXP_OPENDIR, FXP_REALPATH, FXP_STAT,
              FXP_READLINK)
HANDLE_TYPES = (FXP_CLOSE, FXP_READ, FXP_FSTAT, FXP_READDIR)
NAMES = {3: "OPEN", 4: "CLOSE", 5: "READ", 7: "LSTAT", 8: "FSTAT",
         11: "OPENDIR", 12: "READDIR", 16: "REALPATH", 17: "STAT",
         19: "READLINK", 200: "EXTENDED"}

# A regular file of 1 byte, 0644, mtime 0: the attrs of made-up entries.
FILE_ATTRS = struct.pack(">IQIIIII", 0xf, 1, 0, 0, 0o100644, 0, 0)


def string(b):
    return struct.pack(">I", len(b)) + b


def get_string(p, off):
    n = struct.unpack_from(">I", p, off)[0]
    return p[off + 4:off + 4 + n], off + 4 + n


def attrs_end(p, off):
    """Offset just past the ATTRS starting at off."""
    flags = struct.unpack_from(">I", p, off)[0]
    off += 4
    if flags & 1:
        off += 8
    if flags & 2:
        off += 8
    if flags & 4:
        off += 4
    if flags & 8:
        off += 8
    if flags & 0x80000000:
        n = struct.unpack_from(">I", p, off)[0]
        off += 4
        for _ in range(2 * n):
            _, off = get_string(p, off)
    return off


def packet(body):
    return struct.pack(">I", len(body)) + body


def name_reply(rid, entries):
    """A NAME packet of (name, longname, attrs bytes) entries."""
    parts = [struct.pack(">BII", FXP_NAME, rid, len(entries))]
    for n, ln, a in entries:
        parts.append(string(n) + string(ln) + a)
    return packet(b"".join(parts))


def entries_of(p):
    count = struct.unpack_from(">I", p, 9)[0]
    off, out = 13, []
    for _ in range(count):
        n, off = get_string(p, off)
        ln, off = get_string(p, off)
        end = attrs_end(p, off)
        out.append((n, ln, p[off:end]))
        off = end
    return out


def as_dir(a):
    """The same attrs, with the type bits saying directory."""
    flags = struct.unpack_from(">I", a, 0)[0]
    if not flags & 4:
        return a
    off = 4 + (8 if flags & 1 else 0) + (8 if flags & 2 else 0)
    mode = struct.unpack_from(">I", a, off)[0]
    return a[:off] + struct.pack(">I", 0o040000 | (mode & 0o7777)) + \
        a[off + 4:]


class Proxy:
    def __init__(self, mode, args, server):
        self.mode, self.args = mode, args
        self.srv = subprocess.Popen(server, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, bufsize=0)
        self.pending = {}       # request id: (type, path or handle)
        self.endless = set()    # handles of never-ending listings
        self.made = 0
        self.log = open(args[0], "a") if mode == "log" else None

    def to_client(self, b):
        view = memoryview(b)
        while view:
            view = view[os.write(1, view):]

    def to_server(self, b):
        self.srv.stdin.write(b)

    def endless_reply(self, rid):
        n = int(self.args[1]) if len(self.args) > 1 else 12
        per = max(1, 200000 // (n + 48))
        ents = []
        for _ in range(per):
            self.made += 1
            name = b"e%d-" % self.made
            ents.append((name + b"x" * (n - len(name)), b"", FILE_ATTRS))
        self.to_client(name_reply(rid, ents))

    def request(self, p):
        typ = p[4]
        if typ == 1:            # INIT
            self.to_server(p)
            return
        rid = struct.unpack_from(">I", p, 5)[0]
        arg = b""
        if typ in PATH_TYPES or typ in HANDLE_TYPES:
            arg, _ = get_string(p, 9)
        self.pending[rid] = (typ, arg)
        if self.log:
            self.log.write("%s %s\n" % (NAMES.get(typ, typ),
                                        arg.decode("utf-8", "replace")
                                        if typ in PATH_TYPES else ""))
            self.log.flush()
        if self.mode == "endless" and typ == FXP_READDIR and \
                arg in self.endless:
            del self.pending[rid]
            self.endless_reply(rid)
            return
        if self.mode == "longlink" and typ == FXP_READLINK and \
                arg.endswith(b"/" + self.args[0].encode()):
            del self.pending[rid]
            target = b"t" * int(self.args[1])
            self.to_client(name_reply(rid, [(target, target,
                                             struct.pack(">I", 0))]))
            return
        self.to_server(p)

    def reply(self, p):
        typ = p[4]
        rid = struct.unpack_from(">I", p, 5)[0]
        req = self.pending.pop(rid, None)
        if req is None:         # VERSION
            self.to_client(p)
            return
        rtyp, arg = req
        if self.mode == "endless" and rtyp == FXP_OPENDIR and \
                typ == FXP_HANDLE and \
                os.path.basename(arg) == self.args[0].encode():
            h, _ = get_string(p, 9)
            self.endless.add(h)
        if rtyp == FXP_READDIR and typ == FXP_NAME and \
                self.mode in ("dup", "longname"):
            want = self.args[0].encode()
            out = []
            for n, ln, a in entries_of(p):
                out.append((n, ln, a))
                if n != want:
                    continue
                if self.mode == "dup":
                    out.append((n, ln, as_dir(a)))
                else:
                    out.append((b"y" * int(self.args[1]), b"", a))
            p = name_reply(rid, out)
        self.to_client(p)

    def run(self):
        cin, sout = 0, self.srv.stdout.fileno()
        bufs = {cin: b"", sout: b""}
        while True:
            ready, _, _ = select.select([cin, sout], [], [])
            for fd in ready:
                data = os.read(fd, 1 << 20)
                if not data:
                    self.srv.stdin.close()
                    self.srv.wait()
                    return
                b, off = bufs[fd] + data, 0
                while len(b) - off >= 4:
                    n = struct.unpack_from(">I", b, off)[0]
                    if len(b) - off < 4 + n:
                        break
                    p, off = b[off:off + 4 + n], off + 4 + n
                    if fd == cin:
                        self.request(p)
                    else:
                        self.reply(p)
                bufs[fd] = b[off:]


def main():
    argv = sys.argv[1:]
    if "--" not in argv or argv.index("--") < 1:
        sys.exit("usage: sftp-proxy.py MODE [ARG ...] -- SERVER [ARG ...]")
    i = argv.index("--")
    try:
        Proxy(argv[0], argv[1:i], argv[i + 1:]).run()
    except (BrokenPipeError, ConnectionResetError):
        pass


if __name__ == "__main__":
    main()
