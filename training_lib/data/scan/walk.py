"""Walk a data root safely: include/exclude globs, hidden entries, symlinks, loops.

A symlink is followed only when its target resolves inside the root; a link that
leaves the root, dangles, or leads back to a folder already visited is reported as
skipped with its reason, never read. Only regular files are returned (FIFOs, sockets
and devices would block or lie).
"""
from __future__ import annotations

import os
import re
import stat
import gc
from functools import lru_cache
from pathlib import Path
from typing import Iterable, NamedTuple


class Entry(NamedTuple):
    rel: str  # POSIX path relative to the root, as found (links keep their own name)
    real: str  # the path to open (a link's resolved target)
    size: int
    mtime_ns: int


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
         skip_hidden: bool = True) -> tuple[list[Entry], list[tuple[str, str]]]:
    """(regular files under root, [(relative path, reason)] of entries not followed)."""
    enabled = gc.isenabled()
    gc.disable()  # tens of thousands of small objects: collections would cost more than the walk
    try:
        return _walk(root, include, exclude, skip_hidden)
    finally:
        if enabled:
            gc.enable()


def _walk(root: Path, include: Iterable[str], exclude: Iterable[str],
          skip_hidden: bool) -> tuple[list[Entry], list[tuple[str, str]]]:
    root_real = os.path.realpath(root)
    include, exclude = tuple(include), tuple(exclude)
    everything = include == ("**/*",) or include == ("**",)
    files: list[Entry] = []
    append = files.append
    make = tuple.__new__  # Entry(...) without the Python-level __new__ frame: 10^5 calls
    skipped: list[tuple[str, str]] = []
    st_root = os.stat(root_real)
    visited = {(st_root.st_dev, st_root.st_ino)}
    stack: list[tuple[str, str]] = [(root_real, "")]
    links: list[tuple[str, str, tuple[int, int]]] = []  # folder links, walked after real folders
    while stack or links:
        if not stack:
            target, rel, key = links.pop()
            if key in visited:
                loop = _inside(os.path.join(root_real, rel), target)
                skipped.append((rel, "symlink_loop" if loop else "symlink_to_walked_folder"))
                continue
            visited.add(key)
            stack.append((target, rel + "/"))
            continue
        folder, prefix = stack.pop()
        try:
            it = os.scandir(folder)
        except OSError as e:
            skipped.append((prefix.rstrip("/") or ".", f"unreadable_folder: {e.strerror}"))
            continue
        with it:
            for entry in it:
                name = entry.name
                if skip_hidden and name.startswith("."):
                    continue
                rel = prefix + name
                try:
                    if entry.is_file(follow_symlinks=False):
                        if (everything or matches(rel, include)) and not (exclude and matches(rel, exclude)):
                            st = entry.stat(follow_symlinks=False)
                            append(make(Entry, (rel, entry.path, st.st_size, st.st_mtime_ns)))
                    elif entry.is_dir(follow_symlinks=False):
                        if exclude and (matches(rel, exclude) or matches(rel + "/", exclude)):
                            continue
                        st = entry.stat(follow_symlinks=False)
                        key = (st.st_dev, st.st_ino)
                        if key in visited:  # a bind mount looping back
                            skipped.append((rel, "folder_loop"))
                            continue
                        visited.add(key)
                        stack.append((entry.path, rel + "/"))
                    elif entry.is_symlink():
                        _follow_link(entry, rel, root_real, links, files, skipped,
                                     include, exclude, everything)
                    else:
                        skipped.append((rel, "not_a_regular_file"))
                except OSError as e:
                    skipped.append((rel, f"unreadable: {e.strerror}"))
    return files, skipped


def _follow_link(entry: os.DirEntry, rel: str, root_real: str, links: list,
                 files: list, skipped: list, include: tuple, exclude: tuple,
                 everything: bool) -> None:
    target = os.path.realpath(entry.path)
    if not _inside(target, root_real):
        skipped.append((rel, "symlink_outside_root"))
        return
    try:
        st = os.stat(target)
    except OSError:
        skipped.append((rel, "broken_symlink"))
        return
    if stat.S_ISDIR(st.st_mode):
        if exclude and (matches(rel, exclude) or matches(rel + "/", exclude)):
            return
        links.append((target, rel, (st.st_dev, st.st_ino)))
    elif stat.S_ISREG(st.st_mode):
        if (everything or matches(rel, include)) and not (exclude and matches(rel, exclude)):
            files.append(Entry(rel, target, st.st_size, st.st_mtime_ns))
    else:
        skipped.append((rel, "not_a_regular_file"))
