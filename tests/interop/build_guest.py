#!/usr/bin/env python3
"""Build the interop guest: a Debian kernel plus a one-file initramfs holding the real pppd.

The host kernel has no PPP support, so the interop tests run Debian's pppd inside a small Linux
guest under QEMU. Everything in the guest comes from the Debian packages the host's apt knows
(``apt-get download`` + ``dpkg-deb``; nothing else is downloaded):

* the kernel of ``linux-image-amd64`` (its ``vmlinuz`` unpacked to the ELF ``vmlinux``, which QEMU
  boots through the PVH entry point: no in-guest decompression, several seconds faster under TCG),
  and the PPP modules (``ppp_generic``, ``ppp_async``, ``ppp_deflate``, ``bsd_comp``...) with the
  modules they depend on;
* ``busybox-static`` (shell, ping, nc, httpd, sha256sum...);
* ``ppp`` (pppd, chat), ``netcat-openbsd`` (``nc.openbsd``: busybox's nc has no UDP) and the
  shared libraries they link against, found by walking the ELF ``DT_NEEDED`` entries inside
  the unpacked packages;
* ``guest/init`` as ``/init`` and ``guest/hook`` as the pppd hook scripts.

The result is cached, keyed on the package versions and on the content of this directory's guest
files, so a second build costs a file stat. Layout of the cache directory::

    debs/                 downloaded .deb files (kept as a download cache)
    guest-<key>/vmlinux   the kernel; guest-<key>/initramfs.cpio; guest-<key>/manifest.json
    current.json          fast-path record: apt lists + guest files -> guest-<key>

Usage: ``python tests/interop/build_guest.py [--force] [--cache DIR]``, or from Python
:func:`ensure_guest`. Environment: ``PYPPP_INTEROP_CACHE`` (cache directory; default
``/var/cache/pyppp-interop`` when writable, else ``/tmp/pyppp-interop-<uid>``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
GUEST_DIR = HERE / "guest"

#: Kernel modules loaded in the guest, in this order after their dependencies.
MODULES = ("ppp_generic", "ppp_async", "ppp_synctty", "ppp_deflate", "bsd_comp", "ppp_mppe")
#: Where those modules (and what they need: slhc, zlib, crc-ccitt, libarc4) live in the package.
MODULE_DIRS = ("kernel/drivers/net", "kernel/lib", "kernel/crypto")
#: Packages whose programs go into the guest, besides busybox-static and the kernel.
#: netcat-openbsd because busybox's nc has no UDP mode.
PROGRAM_PACKAGES = ("ppp", "netcat-openbsd")
#: Programs copied into the guest (with their shared libraries).
PROGRAMS = (
    "usr/sbin/pppd",
    "usr/sbin/chat",
    "usr/sbin/pppdump",
    "usr/sbin/pppstats",
    "bin/nc.openbsd",
)
#: pppd hook scripts; each is a symlink to the one marker-printing hook.
HOOKS = ("auth-up", "auth-down", "ip-pre-up", "ip-up", "ip-down", "ipv6-up", "ipv6-down")
#: Bump to force a rebuild when the layout produced here changes.
FORMAT = 1

Log = Callable[[str], None]


class BuildError(RuntimeError):
    """The guest cannot be built on this host (no apt, no qemu, a package missing...)."""


@dataclasses.dataclass(frozen=True)
class GuestImage:
    """A built guest.

    Attributes:
        kernel: the uncompressed ELF kernel (booted through PVH).
        initramfs: the uncompressed newc cpio archive (the whole root file system).
        manifest: package -> version, plus ``"kernel-release"``.
        built_seconds: time the build took now, 0.0 when the cache was up to date.
    """

    kernel: Path
    initramfs: Path
    manifest: dict[str, str]
    built_seconds: float = 0.0


def default_cache_dir() -> Path:
    """Return the cache directory: ``$PYPPP_INTEROP_CACHE`` or a per-host default."""
    env = os.environ.get("PYPPP_INTEROP_CACHE")
    if env:
        return Path(env)
    var = Path("/var/cache/pyppp-interop")
    with contextlib.suppress(OSError):
        var.mkdir(parents=True, exist_ok=True)
        if os.access(var, os.W_OK):
            return var
    return Path(tempfile.gettempdir()) / f"pyppp-interop-{os.getuid()}"


# --------------------------------------------------------------------------------------------
# newc cpio writer (also used by harness.py for the per-run overlay)
# --------------------------------------------------------------------------------------------


class CpioWriter:
    """Write a "newc" cpio archive, the format the kernel unpacks as an initramfs.

    Owner root and mtime 0 everywhere, so the same tree gives the same bytes.
    """

    def __init__(self, out: io.BufferedIOBase | io.BytesIO) -> None:
        self._out = out
        self._ino = 100

    def _entry(
        self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)
    ) -> None:
        self._ino += 1
        raw = name.lstrip("/").encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(mode) else 1
        # ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        fields = [self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, *rdev, len(raw), 0]
        header = b"070701" + b"".join(b"%08X" % v for v in fields)
        self._out.write(header + raw + b"\0" * (-(len(header) + len(raw)) % 4))
        self._out.write(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str, mode: int = 0o755) -> None:
        """Add a directory (the kernel does not create missing parents)."""
        self._entry(name, stat.S_IFDIR | mode)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """Add a regular file."""
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        """Add a symbolic link."""
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        """Add a character device node (no mknod, so no root needed)."""
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def tree(self, root: Path) -> None:
        """Add everything under ``root`` (sorted, so the archive is reproducible)."""
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            base = Path(dirpath)
            rel_dir = base.relative_to(root)
            if str(rel_dir) != ".":
                self.directory(str(rel_dir))
            # A symlink to a directory shows up in dirnames and is not walked.
            names = sorted(filenames + [d for d in dirnames if (base / d).is_symlink()])
            for name in names:
                path = base / name
                rel = str(rel_dir / name)
                st = path.lstat()
                if stat.S_ISLNK(st.st_mode):
                    self.symlink(rel, os.readlink(path))
                elif stat.S_ISREG(st.st_mode):
                    self.file(rel, path.read_bytes(), stat.S_IMODE(st.st_mode))

    def close(self) -> None:
        """Write the trailer record."""
        self._ino = -1
        self._entry("TRAILER!!!", 0)


# --------------------------------------------------------------------------------------------
# ELF reading: DT_NEEDED, PT_INTERP, a module's .modinfo
# --------------------------------------------------------------------------------------------


def _elf_sections(data: bytes) -> dict[str, tuple[int, int, int, int]]:
    """Return section name -> (type, offset, size, link) of an ELF64 little-endian file."""
    if data[:4] != b"\x7fELF" or data[4:6] != b"\x02\x01":
        raise BuildError("not an x86-64 ELF file")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    raw = [struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = raw[shstrndx][4]
    out = {}
    for name, typ, _flags, _addr, offset, size, link in raw:
        end = data.index(b"\0", names_off + name)
        out[data[names_off + name : end].decode()] = (typ, offset, size, link)
    return out


def elf_needed(data: bytes) -> tuple[str | None, list[str]]:
    """Return (program interpreter or None, DT_NEEDED sonames) of an ELF64 file."""
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    interp = None
    dynamic = None
    for i in range(phnum):
        p_type, _f, p_offset, _v, _p, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 3:  # PT_INTERP
            interp = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == 2:  # PT_DYNAMIC
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return interp, []
    # DT_STRTAB holds a virtual address; map it to a file offset through the PT_LOAD segments.
    entries = [struct.unpack_from("<qQ", data, dynamic[0] + i) for i in range(0, dynamic[1], 16)]
    strtab_va = next(v for t, v in entries if t == 5)
    strtab = None
    for i in range(phnum):
        p_type, _f, p_offset, p_vaddr, _p, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1 and p_vaddr <= strtab_va < p_vaddr + p_filesz:
            strtab = strtab_va - p_vaddr + p_offset
    if strtab is None:
        raise BuildError("ELF file without a loadable DT_STRTAB")
    needed = []
    for tag, val in entries:
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            needed.append(data[strtab + val : data.index(b"\0", strtab + val)].decode())
    return interp, needed


def module_depends(data: bytes) -> list[str]:
    """Return the ``depends=`` list of a kernel module's ``.modinfo`` section."""
    sections = _elf_sections(data)
    if ".modinfo" not in sections:
        return []
    _t, off, size, _l = sections[".modinfo"]
    for item in data[off : off + size].split(b"\0"):
        if item.startswith(b"depends="):
            return [d for d in item[8:].decode().split(",") if d]
    return []


# --------------------------------------------------------------------------------------------
# kernel: bzImage -> vmlinux
# --------------------------------------------------------------------------------------------


def extract_vmlinux(bzimage: bytes) -> bytes:
    """Return the ELF kernel inside a bzImage, using the boot protocol's payload fields."""
    if bzimage[0x202:0x206] != b"HdrS":
        raise BuildError("kernel image is not a bzImage")
    setup_sects = bzimage[0x1F1] or 4
    payload_offset, payload_length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + payload_offset
    payload = bzimage[start : start + payload_length]
    if payload.startswith(b"\xfd7zXZ\x00"):
        # The kernel's xz payload carries a 4-byte size trailer after the stream.
        out = lzma.LZMADecompressor().decompress(payload)
    elif payload.startswith(b"\x1f\x8b"):
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload)
    elif payload.startswith(b"\x28\xb5\x2f\xfd"):
        raise BuildError("zstd-compressed kernel: not supported by the stdlib")
    else:
        raise BuildError(f"unknown kernel payload compression {payload[:4].hex()}")
    if out[:4] != b"\x7fELF":
        raise BuildError("kernel payload is not an ELF file")
    return out


# --------------------------------------------------------------------------------------------
# apt
# --------------------------------------------------------------------------------------------


def _run(args: list[str], **kw: object) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    except FileNotFoundError as e:
        raise BuildError(f"{args[0]} not found: this build needs a Debian host with apt") from e
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(args[:3])}... failed: {proc.stderr.strip()[-600:]}")
    return str(proc.stdout)


def _candidates(packages: Iterable[str]) -> dict[str, str]:
    """Return package -> candidate version (one apt-cache call)."""
    out: dict[str, str] = {}
    current = None
    for line in _run(["apt-cache", "policy", *packages]).splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1]
        elif current and line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version != "(none)":
                out[current] = version
    return out


def resolve_packages(log: Log) -> dict[str, str]:
    """Return the packages the guest is made of, with their candidate versions."""
    if not _candidates(["ppp"]):
        log("apt knows no 'ppp' package: running apt-get update")
        _run(["apt-get", "update", "-qq"])
    depends = _run(["apt-cache", "depends", "linux-image-amd64"])
    match = re.search(r"Depends: (linux-image-\d\S*)", depends)
    if not match:
        raise BuildError("cannot resolve linux-image-amd64 to a kernel package")
    # Library packages reachable from the program packages through library packages only
    # (procps, PAM modules and the like are not followed); the ELF walk later copies only the
    # shared objects the programs really load, and fails loudly if one is missing.
    libs: set[str] = set()
    frontier = list(PROGRAM_PACKAGES)
    while frontier:
        out = _run(
            [
                "apt-cache",
                "depends",
                "--no-recommends",
                "--no-suggests",
                "--no-conflicts",
                "--no-breaks",
                "--no-replaces",
                "--no-enhances",
                *frontier,
            ]
        )
        found = set(re.findall(r"^\s*\|?(?:Pre)?Depends: ((?:lib|zlib)[^<\s]*)", out, re.M))
        found -= {"libpam-modules", "libpam-runtime", "libelogind0"}
        frontier = sorted(found - libs)
        libs |= found
    wanted = [match[1], "busybox-static", *PROGRAM_PACKAGES, *sorted(libs)]
    versions = _candidates(wanted)
    missing = [p for p in wanted[: 2 + len(PROGRAM_PACKAGES)] if p not in versions]
    if missing:
        raise BuildError(f"apt has no candidate for {', '.join(missing)}")
    return {p: versions[p] for p in wanted if p in versions}


def _deb_path(debs: Path, package: str, version: str) -> Path | None:
    # apt-get download names files package_version_arch.deb with ':' written as %3a.
    for path in debs.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"):
        return path
    return None


def download(debs: Path, packages: dict[str, str], log: Log) -> dict[str, Path]:
    """Download the .debs that are not in ``debs`` yet; return package -> file."""
    debs.mkdir(parents=True, exist_ok=True)
    want = [f"{p}={v}" for p, v in packages.items() if _deb_path(debs, p, v) is None]
    if want:
        log(f"downloading {len(want)} of {len(packages)} packages into {debs}")
        sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
        _run(["apt-get", "download", "-q", *sandbox, *want], cwd=debs)
    out = {}
    for p, v in packages.items():
        path = _deb_path(debs, p, v)
        if path is None:
            raise BuildError(f"apt-get download did not produce {p} {v}")
        out[p] = path
    for stale in set(debs.glob("*.deb")) - set(out.values()):
        stale.unlink()  # superseded versions (a new kernel is 70 MB)
    return out


# --------------------------------------------------------------------------------------------
# root file system
# --------------------------------------------------------------------------------------------


def _resolve(pool: Path, rel: str, depth: int = 0) -> Path | None:
    """Resolve ``rel`` inside ``pool`` as if ``pool`` were ``/`` (symlinks never leave it)."""
    if depth > 32:
        raise BuildError(f"symlink loop at {rel}")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    done: list[str] = []
    for i, part in enumerate(parts):
        if part == "..":
            if done:
                done.pop()
            continue
        path = pool.joinpath(*done, part)
        if path.is_symlink():
            target = os.readlink(path)
            base = target if target.startswith("/") else "/".join([*done, target])
            return _resolve(pool, "/".join([base, *parts[i + 1 :]]), depth + 1)
        if not path.exists():
            return None
        done.append(part)
    return pool.joinpath(*done)


def copy_closure(pool: Path, root: Path, programs: Iterable[str]) -> list[str]:
    """Copy programs and every shared library they need from ``pool`` into ``root``."""
    libdirs = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "lib", "usr/lib")
    todo = []
    for rel in programs:
        src = _resolve(pool, rel)
        if src is None:
            raise BuildError(f"{rel} is not in the unpacked packages")
        _install(src, root / rel)
        todo.append((rel, src))
    seen: set[str] = set()
    copied = []
    missing = []
    while todo:
        rel, src = todo.pop()
        interp, needed = elf_needed(src.read_bytes())
        if interp and interp not in seen:
            seen.add(interp)
            real = _resolve(pool, interp)
            if real is None:
                missing.append(f"{interp} (interpreter of {rel})")
            else:
                _install(real, root / interp.lstrip("/"))
        for soname in needed:
            if soname in seen:
                continue
            seen.add(soname)
            real = next(
                (r for d in libdirs if (r := _resolve(pool, f"{d}/{soname}")) and r.is_file()),
                None,
            )
            if real is None:
                missing.append(f"{soname} (needed by {rel})")
                continue
            # ld.so searches /lib/x86_64-linux-gnu by default: no ld.so.cache needed.
            _install(real, root / "lib/x86_64-linux-gnu" / soname)
            copied.append(soname)
            todo.append((soname, real))
    if missing:
        raise BuildError("missing shared libraries: " + ", ".join(missing))
    return sorted(copied)


def _install(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    shutil.copyfile(src, dst)
    dst.chmod(0o755 if src.stat().st_mode & 0o111 else 0o644)


def module_order(moddir: Path, names: Iterable[str]) -> list[Path]:
    """Return the module files for ``names`` and their dependencies, dependencies first."""
    index: dict[str, Path] = {}
    for path in moddir.rglob("*.ko*"):
        index[path.name.split(".ko")[0].replace("-", "_")] = path
    order: list[Path] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        name = name.replace("-", "_")
        if index.get(name) in order:
            return
        if name in chain:
            raise BuildError(f"module dependency loop: {' -> '.join((*chain, name))}")
        if name not in index:
            raise BuildError(f"kernel module {name} not found")
        for dep in module_depends(_module_bytes(index[name])):
            visit(dep, (*chain, name))
        order.append(index[name])

    for n in names:
        visit(n, ())
    return order


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    # busybox insmod wants a plain .ko: unpack compressed modules at build time.
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    return data


def build_root(debs: dict[str, Path], kernel_pkg: str, work: Path, log: Log) -> tuple[Path, str]:
    """Unpack the packages and assemble the guest's root tree; return (root, kernel release)."""
    pool = work / "pool"
    root = work / "root"
    pool.mkdir()
    root.mkdir()
    for package, deb in debs.items():
        if package != kernel_pkg:
            _run(["dpkg-deb", "-x", str(deb), str(pool)])
    # The kernel package unpacks to ~400 MB: take the image and the module directories only.
    members = ["./boot/vmlinuz-*", *(f"./lib/modules/*/{d}/*" for d in MODULE_DIRS)]
    with subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(debs[kernel_pkg])], stdout=subprocess.PIPE
    ) as unpack:
        _run(["tar", "-x", "-C", str(pool), "--wildcards", *members], stdin=unpack.stdout)
    if unpack.returncode != 0:
        raise BuildError(f"dpkg-deb could not read {debs[kernel_pkg]}")
    releases = [p.name for p in (pool / "lib/modules").iterdir()]
    if len(releases) != 1:
        raise BuildError(f"expected one kernel release in {kernel_pkg}, found {releases}")
    release = releases[0]

    dirs = "bin sbin usr/bin usr/sbin etc/ppp etc/pyppp-guest proc sys dev run tmp var/log var/lock"
    for d in [*dirs.split(), "root", "srv", "lib/modules"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "var/run").symlink_to("../run")

    busybox = pool / "bin/busybox"
    _install(busybox, root / "bin/busybox")
    applets = _run([str(busybox), "--list-full"]).split()
    for applet in applets:
        link = root / applet
        if not link.exists() and not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")

    libs = copy_closure(pool, root, PROGRAMS)
    log(f"shared libraries: {' '.join(libs)}")

    moddir = pool / "lib/modules" / release
    modules = module_order(moddir, MODULES)
    names = []
    for path in modules:
        name = path.name.split(".ko")[0] + ".ko"
        (root / "lib/modules" / name).write_bytes(_module_bytes(path))
        names.append(name)
    (root / "etc/pyppp-guest/modules").write_text("\n".join(names) + "\n")
    log(f"modules: {' '.join(names)}")

    (root / "init").write_bytes((GUEST_DIR / "init").read_bytes())
    (root / "init").chmod(0o755)
    hook = root / "etc/ppp/pyppp-hook"
    hook.write_bytes((GUEST_DIR / "hook").read_bytes())
    hook.chmod(0o755)
    for name in HOOKS:
        (root / "etc/ppp" / name).symlink_to("pyppp-hook")
    # Debian's /etc/ppp/options says auth, crtscts, lock, lcp-echo-*: a test wants only the
    # options it passes, so the guest's file is empty (a run may supply its own).
    (root / "etc/ppp/options").write_text("# empty: options come from the command line\n")
    for name in ("pap-secrets", "chap-secrets"):
        (root / "etc/ppp" / name).write_text("# client server secret IP addresses\n")
        (root / "etc/ppp" / name).chmod(0o600)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    return root, release


# --------------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------------


def _guest_files_digest() -> str:
    h = hashlib.sha256(f"format {FORMAT}\n".encode())
    for path in (GUEST_DIR / "init", GUEST_DIR / "hook", Path(__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()


def _apt_lists_stamp() -> str:
    # apt-cache takes seconds; the package candidates can only change when apt's lists do.
    lists = Path("/var/lib/apt/lists")
    try:
        entries = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in lists.iterdir())
    except OSError:
        return "no-lists"
    return hashlib.sha256(repr(entries).encode()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _load_image(guest: Path) -> GuestImage | None:
    try:
        manifest = json.loads((guest / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    kernel, initramfs = guest / "vmlinux", guest / "initramfs.cpio"
    if not (kernel.is_file() and initramfs.is_file()):
        return None
    return GuestImage(kernel, initramfs, manifest)


def ensure_guest(
    cache_dir: Path | None = None, *, force: bool = False, log: Log | None = None
) -> GuestImage:
    """Build the guest unless the cache already holds one for the current package versions.

    Args:
        cache_dir: where debs and images live (default :func:`default_cache_dir`).
        force: rebuild even if the cache is up to date.
        log: progress callback (default: print to stderr).

    Returns:
        The built (or cached) guest image.

    Raises:
        BuildError: the host cannot build it (no apt/dpkg, a package or library missing...).
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    say: Log = log or (lambda msg: print(f"build_guest: {msg}", file=sys.stderr))
    cache.mkdir(parents=True, exist_ok=True)
    fast_key = hashlib.sha256((_guest_files_digest() + _apt_lists_stamp()).encode()).hexdigest()
    current = cache / "current.json"
    with _locked(cache / ".lock"):
        if not force:
            with contextlib.suppress(OSError, ValueError, KeyError):
                record = json.loads(current.read_text())
                if record["fast_key"] == fast_key and (img := _load_image(cache / record["dir"])):
                    return img
        t0 = time.monotonic()
        packages = resolve_packages(say)
        key_src = _guest_files_digest() + json.dumps(packages, sort_keys=True)
        key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
        guest = cache / f"guest-{key}"
        image = None if force else _load_image(guest)
        if image is None:
            image = _build(cache, guest, packages, say)
            image = dataclasses.replace(image, built_seconds=time.monotonic() - t0)
            for old in cache.glob("guest-*"):
                if old != guest:
                    shutil.rmtree(old, ignore_errors=True)
        current.write_text(json.dumps({"fast_key": fast_key, "dir": guest.name}))
        return image


def _build(cache: Path, guest: Path, packages: dict[str, str], say: Log) -> GuestImage:
    kernel_pkg = next(p for p in packages if p.startswith("linux-image-"))
    debs = download(cache / "debs", packages, say)
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as tmp:
        work = Path(tmp)
        root, release = build_root(debs, kernel_pkg, work, say)
        out = work / "out"
        out.mkdir()
        bzimage = next((work / "pool/boot").glob("vmlinuz-*")).read_bytes()
        (out / "vmlinux").write_bytes(extract_vmlinux(bzimage))
        # Uncompressed on purpose: un-gzipping 15 MB costs about a second of emulated CPU.
        with (out / "initramfs.cpio").open("wb") as f:
            cpio = CpioWriter(f)
            cpio.tree(root)
            cpio.chardev("dev/console", 5, 1)
            cpio.chardev("dev/null", 1, 3, 0o666)
            cpio.close()
        manifest = {**packages, "kernel-release": release}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if guest.exists():
            shutil.rmtree(guest)
        out.rename(guest)  # atomic: a half-built image is never visible
    size = (guest / "initramfs.cpio").stat().st_size + (guest / "vmlinux").stat().st_size
    say(f"built {guest} (kernel {release}, {size / 1e6:.0f} MB)")
    image = _load_image(guest)
    assert image is not None
    return image


def main(argv: list[str] | None = None) -> int:
    """Command line: build (or check) the guest and print where it is."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cache", type=Path, help="cache directory (default $PYPPP_INTEROP_CACHE)")
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = ap.parse_args(argv)
    try:
        image = ensure_guest(args.cache, force=args.force)
    except BuildError as e:
        print(f"build_guest: error: {e}", file=sys.stderr)
        return 1
    print(f"KERNEL={image.kernel}\nINITRAMFS={image.initramfs}")
    print(f"BUILD_SECONDS={image.built_seconds:.1f}")
    for name, version in sorted(image.manifest.items()):
        print(f"# {name} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
