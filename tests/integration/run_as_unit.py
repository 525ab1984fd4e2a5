#!/usr/bin/env python3
"""Runs a systemd service's ExecStartPre= and ExecStart= the way its unit file says, without
a systemd to do it (PID 1 here is not systemd): for the package test, which starts the
installed programs with the sandbox of the installed units.

usage: run_as_unit.py UNIT_FILE [INSTANCE]

Run as root, in the mount and network namespaces the service should have. Emulated from the
unit (each directive below is read from the file, not assumed):

  CapabilityBoundingSet=   setpriv --bounding-set (and so the root service's capabilities)
  NoNewPrivileges=yes      setpriv --no-new-privs
  LimitMEMLOCK=            setrlimit (at most the hard limit we have, when we cannot raise
                           it: a container without CAP_SYS_RESOURCE)
  SystemCallFilter=, SystemCallErrorNumber=EPERM, SystemCallArchitectures=native,
  RestrictAddressFamilies= vpn-unit-filter (seccomp, the @groups expanded by
                           `systemd-analyze syscall-filter`)
  ProtectSystem=strict     /etc, /usr, /var and /run read-only (own mount namespace)
  RuntimeDirectory=, StateDirectory=  writable: a tmpfs at /run/NAME, /var/lib/NAME as is
  ProtectHome=yes, PrivateTmp=yes     empty tmpfs on /home, /root, /run/user; /tmp, /var/tmp
  DevicePolicy=closed, DeviceAllow=   a /dev with the pseudo-devices and what is allowed
  UMask=, WatchdogSec=     umask; WATCHDOG_USEC in the environment
  PrivateMounts=yes        always: the service gets a mount namespace of its own

Directives a namespace cannot emulate (ProtectKernel*, ProtectClock, ProtectHostname,
ProtectProc, ProtectControlGroups, Restrict{Namespaces,Realtime,SUIDSGID}, LockPersonality,
MemoryDenyWriteExecute) are listed in NOT_EMULATED and skipped; any other directive is an
error, so that a change to the units that this script would silently ignore fails the test.
The rest of the root file system stays writable here (only its system directories are made
read-only), which systemd's ProtectSystem=strict does not allow."""
import ctypes
import os
import re
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FILTER = os.path.join(HERE, "../../build/tests/tools/vpn-unit-filter")

UNIT_ONLY = {"Description", "Documentation", "Wants", "After", "WantedBy"}
SERVICE = {"Type", "ExecStartPre", "ExecStart", "ExecReload", "Restart", "RestartSec",
           "WatchdogSec", "TimeoutStopSec", "RuntimeDirectory", "RuntimeDirectoryMode",
           "StateDirectory", "LimitMEMLOCK", "UMask", "CapabilityBoundingSet",
           "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "DevicePolicy",
           "DeviceAllow", "RestrictAddressFamilies", "SystemCallArchitectures",
           "SystemCallFilter", "SystemCallErrorNumber", "PrivateMounts"}
NOT_EMULATED = {"ProtectKernelModules", "ProtectKernelLogs", "ProtectKernelTunables",
                "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc",
                "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
                "MemoryDenyWriteExecute"}
FAMILIES = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}
DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
           "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0),
           "/dev/net/tun": (10, 200)}
CLONE_NEWNS = 0x00020000


def die(msg):
    sys.exit(f"run_as_unit: {msg}")


def parse(path, instance):
    keys = {}
    for n, raw in enumerate(open(path), 1):
        line = raw.strip()
        if not line or line[0] in "#;" or (line[0] == "[" and line[-1] == "]"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            die(f"{path}:{n}: not a directive: {line}")
        if name not in UNIT_ONLY | SERVICE | NOT_EMULATED:
            die(f"{path}:{n}: {name}= is not emulated: teach run_as_unit.py what it means")
        keys.setdefault(name, []).append(value.replace("%i", instance))
    return keys


def one(keys, name, default=None):
    return keys.get(name, [default])[-1]


def words(keys, name):
    return " ".join(keys.get(name, [])).split()


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def syscalls(names):
    """SystemCallFilter= sets, @groups expanded."""
    out, todo, seen = set(), list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not name.startswith("@"):
            out.add(name)
            continue
        listing = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                                 capture_output=True, text=True).stdout.splitlines()[1:]
        todo += [w.strip() for w in listing if w.strip() and not w.strip().startswith("#")]
    return sorted(out)


def sandbox_mounts(keys):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        die(f"unshare: {os.strerror(ctypes.get_errno())}")
    mount("--make-rprivate", "/")
    # Runtime directories are made in a tmpfs the caller mounted at /run/FIRST (where the
    # caller's tools, vpnctl, reach the sockets too), never in the machine's /run.
    for name in words(keys, "RuntimeDirectory"):
        top = "/run/" + name.split("/")[0]
        if not os.path.ismount(top):
            die(f"RuntimeDirectory={name}: mount a tmpfs at {top} first")
        path = "/run/" + name
        os.makedirs(path, exist_ok=True)
        os.chmod(path, int(one(keys, "RuntimeDirectoryMode", "0755"), 8))
    for name in words(keys, "StateDirectory"):
        os.makedirs("/var/lib/" + name, mode=0o755, exist_ok=True)
        mount("--bind", "/var/lib/" + name, "/var/lib/" + name)
    if one(keys, "PrivateTmp") == "yes":
        for path in ("/tmp", "/var/tmp"):
            mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", path)
    if one(keys, "ProtectHome") == "yes":
        for path in ("/home", "/root", "/run/user"):
            if os.path.isdir(path):
                mount("-t", "tmpfs", "-o", "mode=0755,ro", "tmpfs", path)
    if one(keys, "DevicePolicy") == "closed":
        allowed = dict((p, DEVICES[p]) for p in DEVICES if p != "/dev/net/tun")
        for spec in keys.get("DeviceAllow", []):
            path = spec.split()[0]
            if path not in DEVICES:
                die(f"DeviceAllow={spec}: unknown device")
            allowed[path] = DEVICES[path]
        mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/dev")
        for path, (major, minor) in allowed.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.mknod(path, 0o666 | 0o020000, os.makedev(major, minor))
    if one(keys, "ProtectSystem") == "strict":
        for path in ("/etc", "/usr", "/var"):
            if not os.path.ismount(path):
                mount("--rbind", path, path)
            mount("-o", "remount,bind,ro", path)
        mount("--rbind", "/run", "/run")
        mount("-o", "remount,bind,ro", "/run")


def command(keys, line, families, calls_file):
    argv = line.split()
    caps = [c.lower().replace("cap_", "+") for c in words(keys, "CapabilityBoundingSet")]
    wrap = ["setpriv", "--bounding-set", ",".join(["-all"] + caps)]
    if one(keys, "NoNewPrivileges") == "yes":
        wrap.append("--no-new-privs")
    wrap.append("--")
    if calls_file:
        wrap += [FILTER, calls_file, families, "--"]
    return wrap + argv


def limit_memlock(keys):
    value = one(keys, "LimitMEMLOCK")
    if not value:
        return
    m = re.fullmatch(r"(\d+)([KMG]?)", value)
    if not m:
        die(f"LimitMEMLOCK={value}: not understood")
    n = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (n, n))
    except (PermissionError, ValueError):
        hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
        print(f"run_as_unit: LimitMEMLOCK={value}: cannot raise the limit here, "
              f"{hard} bytes instead", file=sys.stderr)
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    keys = parse(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "")
    calls_file = None
    if keys.get("SystemCallFilter"):
        if one(keys, "SystemCallErrorNumber") != "EPERM":
            die("SystemCallErrorNumber= other than EPERM is not emulated")
        if one(keys, "SystemCallArchitectures") != "native":
            die("SystemCallArchitectures= other than native is not emulated")
        # Handed down as an open descriptor: nothing is written to the file system.
        fd = os.memfd_create("syscalls", 0)
        os.write(fd, ("\n".join(syscalls(words(keys, "SystemCallFilter"))) + "\n").encode())
        os.lseek(fd, 0, os.SEEK_SET)
        os.set_inheritable(fd, True)
        calls_file = f"/proc/self/fd/{fd}"
        # The filter program too, by descriptor: PrivateTmp's tmpfs below hides its path when
        # the tree lives under /tmp (a fresh clone there, as CI may make).
        global FILTER
        filter_fd = os.open(FILTER, os.O_RDONLY)
        os.set_inheritable(filter_fd, True)
        FILTER = f"/proc/self/fd/{filter_fd}"
    families = ",".join(str(FAMILIES[f]) for f in words(keys, "RestrictAddressFamilies"))
    if one(keys, "WatchdogSec"):
        m = re.fullmatch(r"(\d+)s", one(keys, "WatchdogSec"))
        if not m:
            die("WatchdogSec= in seconds (Ns) only")
        os.environ["WATCHDOG_USEC"] = str(int(m.group(1)) * 1000000)
    sandbox_mounts(keys)
    limit_memlock(keys)
    if one(keys, "UMask"):
        os.umask(int(one(keys, "UMask"), 8))
    for pre in keys.get("ExecStartPre", []):
        rc = subprocess.run(command(keys, pre, families, calls_file), close_fds=False).returncode
        if rc != 0:
            sys.exit(f"run_as_unit: ExecStartPre={pre} failed with status {rc}")
    argv = command(keys, one(keys, "ExecStart"), families, calls_file)
    os.execvp(argv[0], argv)


main()
