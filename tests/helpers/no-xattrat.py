# no-xattrat.py PROGRAM [ARG...]: run PROGRAM as on a kernel older than
# 6.13, without setxattrat, getxattrat, listxattrat and removexattrat
# (a seccomp filter makes them fail with ENOSYS), so that the tools take
# their /proc path fallback, whose calls strace can name, delay and fail.
import ctypes
import os
import struct
import sys

SECCOMP_RET_ALLOW = 0x7fff0000
SECCOMP_RET_ERRNO = 0x00050000
ENOSYS = 38
BPF_LD_W_ABS = 0x20
BPF_JGE_K = 0x35
BPF_JGT_K = 0x25
BPF_RET_K = 0x06
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
FIRST, LAST = 463, 466		# the same numbers on every architecture


def ins(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


prog = b"".join([
    ins(BPF_LD_W_ABS, 0, 0, 0),			# the system call's number
    ins(BPF_JGE_K, 0, 2, FIRST),
    ins(BPF_JGT_K, 1, 0, LAST),
    ins(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS),
    ins(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
])
buf = ctypes.create_string_buffer(prog)
fprog = struct.pack("HxxxxxxP", len(prog) // 8, ctypes.addressof(buf))
fbuf = ctypes.create_string_buffer(fprog)
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
        libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                   ctypes.addressof(fbuf), 0, 0) != 0:
    sys.exit("no-xattrat: seccomp: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
