"""Open folders and files under a data root through directory file descriptors.

A path such as `root/images/3/a.png` is never handed to the kernel whole: `images`
is opened relative to the root's descriptor, `3` relative to that one, and so on,
each with O_NOFOLLOW, so a folder swapped for a symlink between two system calls
makes the open fail instead of leading outside the root (O_NOFOLLOW on a whole path
protects only its last component). A file is then checked by identity: the
(st_dev, st_ino) the walk recorded must be the one opened.

>>> ref = FileRef("/data", "images/3/a.png", dev=2049, ino=1234)  # doctest: +SKIP
>>> fd = open_file(ref)  # OSError if any folder on the way is now a link   # doctest: +SKIP
"""
from __future__ import annotations

import os
import stat
from typing import NamedTuple

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
ROOT_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
DIR_FLAGS = ROOT_FLAGS | _NOFOLLOW
# O_NONBLOCK: a FIFO swapped in after the walk must not block the open (regular files
# ignore the flag)
FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)


class ChangedDuringScan(OSError):
    """What the walk saw at a path is no longer what is there."""


class FileRef(NamedTuple):
    """A file the walk found: the data root, the file's path below it through real
    folders only (a link's resolved target), and the identity the walk recorded."""
    root: str
    rel: str
    dev: int
    ino: int


def open_dirs(base_fd: int, parts: list[str] | tuple[str, ...]) -> int:
    """A new descriptor of base/parts[0]/parts[1]/..., no component followed if a link."""
    fd = os.dup(base_fd)
    try:
        for part in parts:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def stat_under(root_fd: int, rel: str) -> os.stat_result:
    """lstat of root/rel, every folder on the way opened without following links."""
    if not rel:
        return os.fstat(root_fd)
    *folders, name = rel.split("/")
    fd = open_dirs(root_fd, folders)
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)


def open_checked_dir(base_fd: int, parts: list[str], key: tuple[int, int]) -> int:
    """Open a folder the walk recorded as `key` (st_dev, st_ino); ChangedDuringScan if
    the name now holds something else."""
    fd = open_dirs(base_fd, parts)
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != key:
        os.close(fd)
        raise ChangedDuringScan(f"{'/'.join(parts)}: folder replaced during the scan")
    return fd


def open_file(ref: FileRef) -> int:
    """A read-only descriptor of the very file the walk recorded in `ref`.

    Raises OSError when a folder on the way became a link (ELOOP/ENOTDIR), the file is
    gone, or another file now has its name (ChangedDuringScan)."""
    *folders, name = ref.rel.split("/")
    root_fd = os.open(ref.root, ROOT_FLAGS)
    try:
        dir_fd = open_dirs(root_fd, folders)
    finally:
        os.close(root_fd)
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (ref.dev, ref.ino) or not stat.S_ISREG(st.st_mode):
            raise ChangedDuringScan(f"{ref.rel}: file replaced since the walk")
    except BaseException:
        os.close(fd)
        raise
    return fd
