"""Walk a data root safely: include/exclude globs, hidden entries, symlinks, loops.

A symlink is followed only when its target resolves inside the root; a link that
leaves the root, dangles, or leads back to a folder already visited is reported as
skipped with its reason, never read. Only regular files are returned (FIFOs, sockets
and devices would block or lie).

Every folder is opened relative to its parent's descriptor without following links
(see `dirfd`), and each entry records the file's (st_dev, st_ino), which the probe
checks after opening: a folder swapped for a link to /etc during a scan is skipped
(`changed_during_scan`), never read. The project's var/ and system folders are
skipped inside a root (`protected_folder`) and refused as a root (see `roots`).
"""
from __future__ import annotations

import errno
import gc
import os
import re
import stat
from functools import lru_cache
from pathlib import Path
from typing import Iterable, NamedTuple

from training_lib.data.scan import dirfd
from training_lib.data.scan.roots import check_data_root, protected_folders, system_root_allowed


class Entry(NamedTuple):
    rel: str  # POSIX path relative to the root, as found (links keep their own name)
    real: str  # the path to open, relative to the root through real folders (a link's target)
    size: int
    mtime_ns: int
    dev: int  # identity at walk time: the probe checks it opened this very file
    ino: int


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over POSIX relative paths: `*` and `?` stay within a folder, `**/` spans
    any number of folders (none included), `[...]` is a character class."""
    out, i = [], 0
    pattern = pattern.lstrip("/")
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(rel: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(rel) for p in patterns)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep)


def walk(root: Path, include: Iterable[str] = ("**/*",), exclude: Iterable[str] = (),
         skip_hidden: bool = True, folders: dict | None = None
         ) -> tuple[list[Entry], list[tuple[str, str]]]:
    """(regular files under root, [(relative path, reason)] of entries not followed).

    With `folders` (a dict), each folder reached through real folders whose every entry
    was a regular file, a folder or a skipped name (hidden, not included) is recorded
    there for `folder_state.dump`: "prefix/" -> (dev, ino, mtime_ns, ctime_ns, its
    files' slice of the returned list, [(subfolder, dev, ino)]).

    Raises DataError for a system folder or the project's var/ as root (see `roots`)."""
    root_real = check_data_root(root)
    enabled = gc.isenabled()
    gc.disable()  # tens of thousands of small objects: collections would cost more than the walk
    try:
        return _Walk(root_real, include, exclude, skip_hidden, folders).run()
    finally:
        if enabled:
            gc.enable()


class _Walk:
    """One walk. Every folder is opened relative to its parent's descriptor with
    O_NOFOLLOW and checked against the (st_dev, st_ino) seen when it was listed, so
    swapping a folder for a link mid-walk cannot lead out of the root."""

    def __init__(self, root_real: str, include: Iterable[str], exclude: Iterable[str],
                 skip_hidden: bool, captured: dict | None = None) -> None:
        self.root_real = root_real
        self.captured = captured
        self.include, self.exclude = tuple(include), tuple(exclude)
        self.everything = self.include in (("**/*",), ("**",))
        self.skip_hidden = skip_hidden
        self.files: list[Entry] = []
        self.skipped: list[tuple[str, str]] = []
        self.visited: set[tuple[int, int]] = set()
        self.protected: set[tuple[int, int]] = set()
        if not system_root_allowed():
            for folder in protected_folders():
                try:
                    st = os.stat(folder)
                except OSError:
                    continue
                self.protected.add((st.st_dev, st.st_ino))
        # folder links, walked after the real folders: (target below root, rel, key)
        self.links: list[tuple[str, str, tuple[int, int]]] = []

    def run(self) -> tuple[list[Entry], list[tuple[str, str]]]:
        self.root_fd = os.open(self.root_real, dirfd.ROOT_FLAGS)
        try:
            st = os.fstat(self.root_fd)
            self.visited.add((st.st_dev, st.st_ino))
            self._tree(os.dup(self.root_fd), "", "")
            while self.links:
                target, rel, key = self.links.pop()
                if key in self.visited:
                    loop = _inside(os.path.join(self.root_real, rel),
                                   os.path.join(self.root_real, target))
                    self.skipped.append((rel, "symlink_loop" if loop else "symlink_to_walked_folder"))
                    continue
                self.visited.add(key)
                try:
                    fd = dirfd.open_checked_dir(self.root_fd, target.split("/") if target else [], key)
                except OSError as e:
                    self.skipped.append((rel, _reason(e, "unreadable_folder")))
                    continue
                self._tree(fd, rel + "/", target + "/" if target else "")
        finally:
            os.close(self.root_fd)
        return self.files, self.skipped

    def _tree(self, top_fd: int, prefix: str, real_prefix: str) -> None:
        """Walk the folder open as `top_fd` (closed here), depth first, holding one
        descriptor per level."""
        stack = [(top_fd, prefix, real_prefix, iter(self._list(top_fd, prefix, real_prefix)))]
        try:
            while stack:
                fd, prefix, real_prefix, pending = stack[-1]
                item = next(pending, None)
                if item is None:
                    os.close(fd)
                    stack.pop()
                    continue
                name, key = item
                rel = prefix + name
                try:
                    child = dirfd.open_checked_dir(fd, [name], key)
                except OSError as e:
                    self.skipped.append((rel, _reason(e, "unreadable_folder")))
                    continue
                sub, real_sub = rel + "/", real_prefix + name + "/"
                stack.append((child, sub, real_sub, iter(self._list(child, sub, real_sub))))
        finally:
            for fd, *_ in stack:
                os.close(fd)

    def _list(self, fd: int, prefix: str, real_prefix: str) -> list[tuple[str, tuple[int, int]]]:
        """Record the files of one folder; return its subfolders to enter (name, key)."""
        folders: list[tuple[str, tuple[int, int]]] = []
        # the folder's stat before its listing: a change while it is read shows next time
        capture = (os.fstat(fd) if self.captured is not None and prefix == real_prefix
                   else None)
        first, clean = len(self.files), True
        try:
            it = os.scandir(fd)
        except OSError as e:
            self.skipped.append((prefix.rstrip("/") or ".", f"unreadable_folder: {e.strerror}"))
            return folders
        include, exclude, everything = self.include, self.exclude, self.everything
        append = self.files.append
        make = tuple.__new__  # Entry(...) without the Python-level __new__ frame: 10^5 calls
        same = prefix == real_prefix  # not below a followed link: one string serves both
        with it:
            for entry in it:
                name = entry.name
                if self.skip_hidden and name.startswith("."):
                    continue
                rel = prefix + name
                try:
                    if entry.is_file(follow_symlinks=False):
                        if (everything or matches(rel, include)) and not (exclude and matches(rel, exclude)):
                            st = entry.stat(follow_symlinks=False)  # fstatat on this folder's fd
                            append(make(Entry, (rel, rel if same else real_prefix + name,
                                                st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)))
                    elif entry.is_dir(follow_symlinks=False):
                        if exclude and (matches(rel, exclude) or matches(rel + "/", exclude)):
                            continue
                        st = entry.stat(follow_symlinks=False)
                        key = (st.st_dev, st.st_ino)
                        if key in self.protected:
                            self.skipped.append((rel, "protected_folder"))
                            clean = False
                        elif key in self.visited:  # a bind mount looping back
                            self.skipped.append((rel, "folder_loop"))
                            clean = False
                        else:
                            self.visited.add(key)
                            folders.append((name, key))
                    elif entry.is_symlink():
                        self._follow_link(real_prefix + name, rel)
                        clean = False
                    else:
                        self.skipped.append((rel, "not_a_regular_file"))
                        clean = False
                except OSError as e:
                    self.skipped.append((rel, f"unreadable: {e.strerror}"))
                    clean = False
        if capture is not None and clean:
            self.captured[prefix] = (capture.st_dev, capture.st_ino, capture.st_mtime_ns,
                                     capture.st_ctime_ns, first, len(self.files),
                                     [(name, *key) for name, key in folders])
        return folders

    def _follow_link(self, link_real: str, rel: str) -> None:
        """A link is followed only to a target inside the root; the target is then
        reached again through real folders from the root's descriptor."""
        target = os.path.realpath(os.path.join(self.root_real, link_real))
        if not _inside(target, self.root_real):
            self.skipped.append((rel, "symlink_outside_root"))
            return
        target_rel = os.path.relpath(target, self.root_real).replace(os.sep, "/")
        target_rel = "" if target_rel == "." else target_rel
        try:
            st = dirfd.stat_under(self.root_fd, target_rel)
        except FileNotFoundError:
            self.skipped.append((rel, "broken_symlink"))
            return
        except OSError as e:  # a folder on the way became a link after realpath
            self.skipped.append((rel, _reason(e, "broken_symlink")))
            return
        include, exclude = self.include, self.exclude
        if stat.S_ISDIR(st.st_mode):
            if exclude and (matches(rel, exclude) or matches(rel + "/", exclude)):
                return
            key = (st.st_dev, st.st_ino)
            if key in self.protected:
                self.skipped.append((rel, "protected_folder"))
                return
            self.links.append((target_rel, rel, key))
        elif stat.S_ISREG(st.st_mode):
            if (self.everything or matches(rel, include)) and not (exclude and matches(rel, exclude)):
                self.files.append(Entry(rel, target_rel, st.st_size, st.st_mtime_ns,
                                        st.st_dev, st.st_ino))
        elif stat.S_ISLNK(st.st_mode):
            self.skipped.append((rel, "changed_during_scan"))
        else:
            self.skipped.append((rel, "not_a_regular_file"))


def _reason(error: OSError, default: str) -> str:
    """`changed_during_scan` for a name that is no longer the folder/file the walk saw
    (replaced, or now a link: ELOOP/ENOTDIR), else the default with the error."""
    if isinstance(error, dirfd.ChangedDuringScan) or error.errno in (errno.ELOOP, errno.ENOTDIR):
        return "changed_during_scan"
    return f"{default}: {error.strerror}"
