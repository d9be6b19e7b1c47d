"""One file, read once: content hash, type detection, header and decoder checks.

`probe_file` is what a scan worker runs per file. Given the walk's `FileRef` it opens
the file read-only through directory descriptors from the data root, no component
followed if it is a link, and checks that the file opened is the one the walk recorded
(st_dev, st_ino): a folder swapped for a link after the walk makes the file
`unreadable`, never a read outside the root. It reads the bytes once and derives
everything from that buffer. It never raises for a bad file: problems become flags.
"""
from __future__ import annotations

import hashlib
import logging
import os
import stat
from typing import Any, Union

from training_lib.data.detect import extensions, sniff as sniffer
from training_lib.data.quality import checks
from training_lib.data.quality.limits import QualityLimits
from training_lib.data.quality.scores import FATAL
from training_lib.data.scan.dirfd import FILE_FLAGS, FileRef, open_file
from training_lib.data.scan.meta_bounds import bound_meta

log = logging.getLogger(__name__)

_STREAM_CHUNK = 4 << 20


Source = Union[str, FileRef]  # a FileRef from the walk; a plain path only for single files


def _open(source: Source) -> int:
    if isinstance(source, FileRef):
        return open_file(source)
    # a single file named by the caller (pairs manifest, tests): no final link followed
    return os.open(source, FILE_FLAGS)


def _read(source: Source, limits: QualityLimits) -> tuple[bytes, bytes, str, int, int, bool]:
    """(data or head, tail, sha256, size, mtime_ns, complete)."""
    fd = _open(source)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"not a regular file: {getattr(source, 'rel', source)}")
        if st.st_size <= limits.max_read_bytes:
            data = os.read(fd, st.st_size + 1) if st.st_size else b""
            if len(data) != st.st_size:  # a short read, or a file growing while we read it
                chunks = [data]
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                data = b"".join(chunks)
            return data, b"", hashlib.sha256(data).hexdigest(), len(data), st.st_mtime_ns, True
        digest = hashlib.sha256()
        head = b""
        tail = b""
        while chunk := os.read(fd, _STREAM_CHUNK):
            digest.update(chunk)
            if not head:
                head = chunk[:sniffer.HEAD_BYTES]
            tail = (tail + chunk)[-sniffer.TAIL_BYTES:]
        return head, tail, digest.hexdigest(), st.st_size, st.st_mtime_ns, False
    finally:
        os.close(fd)


def empty_result(rel: str) -> dict[str, Any]:
    return {"path": rel, "size": 0, "mtime_ns": 0, "content_hash": "", "type": "unknown",
            "format": "unknown", "flags": [], "meta": {}}


def probe_file(path: Source, rel: str, limits: QualityLimits, *, deep: bool = True,
               result: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inspect one file. Returns a dict with the FileRecord fields the file decides:
    path, size, mtime_ns, content_hash, type, format, flags (list), meta.

    `result`, when given, is filled in place as the work proceeds, so a caller that
    interrupts a slow decoder still has the hash and the sniffed type.
    """
    if result is None:
        result = empty_result(rel)
    try:
        data, tail, digest, size, mtime_ns, complete = _read(path, limits)
    except OSError as e:
        log.warning("cannot read %s: %s", rel, e)
        result["flags"] = ["unreadable"]
        result["meta"] = {"error": str(e)[:200]}
        return result
    result.update(size=size, mtime_ns=mtime_ns, content_hash=digest)
    found = sniffer.sniff(data, rel, size, tail or None, max_pixels=limits.max_pixels)
    result.update(type=found.type, format=found.format, meta=found.meta, flags=list(found.flags))
    flags = list(found.flags)
    cap = limits.size_cap(found.type)
    if size > cap:  # never decoded here, and the loaders would refuse it
        flags.append("too_large")
        result["meta"] = {**found.meta, "size_cap": cap}
    if deep and not FATAL.intersection(flags):
        if complete:
            meta, more, retype = checks.assess(data, found.type, found.format, found.meta, limits)
            result["meta"] = {**found.meta, **meta}
            flags.extend(more)
            if retype:
                result["type"] = retype
                flags = [f for f in flags if f != "wrong_extension"]
                if extensions.is_wrong(rel, retype, result["format"]):
                    flags.append("wrong_extension")
                if size > limits.size_cap(retype):
                    flags.append("too_large")
                    result["meta"]["size_cap"] = limits.size_cap(retype)
    result["flags"] = list(dict.fromkeys(flags))
    result["meta"] = bound_meta(result["meta"])
    return result


def with_flag(result: dict[str, Any], flag: str) -> dict[str, Any]:
    """A copy of a (partial) probe result with one more flag (timeout, decoder crash)."""
    out = dict(result)
    out["flags"] = list(dict.fromkeys([*out.get("flags", []), flag]))
    return out
