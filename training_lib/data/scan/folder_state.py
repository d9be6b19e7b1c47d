"""Each folder's state at the last scan, so that a rescan of an unchanged tree need not
list its folders or compare the files one by one against the catalog.

Adding, removing or renaming an entry of a folder sets the folder's mtime and ctime
(POSIX), and nothing can set a ctime back (`utime` to an old mtime sets the ctime to
now). So a folder whose (device, inode, mtime, ctime) are those recorded holds the same
names as then. Its files can still have been edited in place, which changes a file's
mtime and not the folder's: every file is still stat'ed (relative to the folder's
descriptor, no link followed) and compared on size and mtime, as the scanner does.

A folder is trusted only when its ctime is older than the recording scan's start by
`RACY_NS`: a change within the same timestamp tick as the recorded one could otherwise
leave the ctime equal (coarse clocks, file systems with 1-2 s resolution). Folders with
symlinks, special files or unreadable entries are not recorded (the full walk decides
about those), nor folders below a followed link. Anything unexpected -- a folder not
recorded, an open or a stat that fails -- makes `unchanged` say no, and the scanner
walks the tree as usual: this is a shortcut for the common case, never a second rule.

>>> folders = {}
>>> entries, skipped = walk.walk(root, folders=folders)                # doctest: +SKIP
>>> blob = dump(root_real, folders, entries, None, params, started_ns)  # doctest: +SKIP
>>> unchanged(root_real, load(blob), params)  # a later scan, nothing touched  # doctest: +SKIP
True
"""
from __future__ import annotations

import marshal
import os
import stat
from typing import Any, Sequence

from training_lib.data.scan import dirfd

VERSION = 1
RACY_NS = 2_000_000_000  # coarser than any local file system's timestamp resolution
# folder rel -> (dev, ino, mtime_ns, ctime_ns, first entry index, end index, subfolders)
Captured = dict[str, tuple[int, int, int, int, int, int, list[tuple[str, int, int]]]]


def params_of(include: Sequence[str], exclude: Sequence[str], skip_hidden: bool) -> list[Any]:
    """What decides which names of a folder the walk keeps: a state holds for these only."""
    return [list(include), list(exclude), bool(skip_hidden)]


def complete(folders: Captured) -> bool:
    """Whether the root and, from it, every subfolder were recorded: only then can a
    later `unchanged` answer yes (a folder with a link or a special file never is)."""
    if "" not in folders:
        return False
    return all(f"{prefix}{name}/" in folders
               for prefix, recorded in folders.items() for name, *_ in recorded[6])


def dump(root_real: str, folders: Captured, entries: Sequence[Any],
         records: dict[str, tuple[int, int]] | None, params: list[Any],
         started_ns: int) -> bytes:
    """The state of the walk that found `entries` (`walk.walk(..., folders=)`), started at
    `started_ns`. With `records` (path -> (size, mtime_ns) as catalogued), a folder with a
    file whose catalogued stat is not the walk's (changed while it was read) is left out."""
    out = {}
    for rel, (dev, ino, mtime_ns, ctime_ns, first, end, subs) in folders.items():
        files = entries[first:end]
        cut = len(rel)
        names = [e[0][cut:] for e in files]
        sizes = [e[2] for e in files]
        mtimes = [e[3] for e in files]
        if records is not None and any(records.get(e[0]) != (e[2], e[3]) for e in files):
            continue
        out[rel] = (dev, ino, mtime_ns, ctime_ns, names, sizes, mtimes, subs)
    return marshal.dumps({"version": VERSION, "root": root_real, "params": params,
                          "trusted_before_ns": started_ns - RACY_NS, "n_files": len(entries),
                          "folders": out})


def load(blob: bytes | None) -> dict[str, Any] | None:
    if not blob:
        return None
    try:
        state = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None
    return state if isinstance(state, dict) and state.get("version") == VERSION else None


def unchanged(root_real: str, state: dict[str, Any], params: list[Any]) -> bool:
    """True when every folder of the tree is as recorded and every file has its recorded
    size and mtime; False as soon as anything may differ (the caller then walks)."""
    if state["root"] != root_real or state["params"] != params:
        return False
    folders, before = state["folders"], state["trusted_before_ns"]
    try:
        fd = os.open(root_real, dirfd.ROOT_FLAGS)
    except OSError:
        return False
    stack: list[tuple[int, str, Any]] = []
    try:
        subs = _check(fd, "", folders, before)
        if subs is None:
            os.close(fd)
            return False
        stack.append((fd, "", iter(subs)))
        while stack:
            fd, prefix, pending = stack[-1]
            item = next(pending, None)
            if item is None:
                os.close(fd)
                stack.pop()
                continue
            name, dev, ino = item
            child = dirfd.open_checked_dir(fd, [name], (dev, ino))
            rel = prefix + name
            subs = _check(child, rel + "/", folders, before)
            if subs is None:
                os.close(child)
                return False
            stack.append((child, rel + "/", iter(subs)))
    except OSError:  # a folder gone, replaced or unreadable: the walk will say what
        return False
    finally:
        for fd, *_ in stack:
            os.close(fd)
    return True


def _check(fd: int, prefix: str, folders: dict[str, Any], before: int) -> list | None:
    """The subfolders of the folder open as `fd` when it and its files are as recorded,
    else None."""
    recorded = folders.get(prefix)
    if recorded is None:
        return None
    dev, ino, mtime_ns, ctime_ns, names, sizes, mtimes, subs = recorded
    st = os.fstat(fd)
    if (ctime_ns >= before or st.st_ctime_ns != ctime_ns or st.st_mtime_ns != mtime_ns
            or st.st_ino != ino or st.st_dev != dev):
        return None
    lstat, is_reg = os.lstat, stat.S_ISREG
    for name, size, mtime in zip(names, sizes, mtimes):
        st = lstat(name, dir_fd=fd)
        if st.st_mtime_ns != mtime or st.st_size != size or not is_reg(st.st_mode):
            return None
    return subs
