"""The cross-file quality pass: exact duplicates by content hash, near ones by
perceptual hash (images) or normalised text (text and code).

Every member of a near-duplicate group takes the split of the group's first file:
`meta["split_key"]` holds that file's content hash and `records.split_key` reads it,
so a re-saved or re-encoded copy never sits in test while its original trains
(exact duplicates share a content hash, hence a split, already).
"""
from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from collections import defaultdict
from typing import Iterable

from training_lib.data.quality.scores import CROSS_FILE, FATAL, score_of
from training_lib.data.records import FileRecord, split_of

_GROUP_META = ("near_duplicate_of", "split_key")


def text_key(text: str, min_chars: int = 12) -> str | None:
    """The near-duplicate key of a decoded text: a hash of its words (NFC) joined by one
    space, so re-saves that change only line endings (CRLF, CR), trailing spaces, tabs
    against spaces, blank lines, a BOM or the encoding share it. Case is kept: in code
    and labels it is content. None for text under `min_chars` characters, where equal
    words are a coincidence ("ok", "yes").

    >>> text_key("a  b\\r\\nc \\n", 1) == text_key("\\ufeffa b\\nc", 1)
    True
    """
    words = unicodedata.normalize("NFC", text.replace("\ufeff", "")).split()
    joined = " ".join(words)
    if len(joined) < max(1, min_chars):
        return None
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def mark_duplicates(records: list[FileRecord], near_bits: int = 6) -> list[FileRecord]:
    """Recompute the cross-file flags of a whole scan (order-independent).

    Exact duplicates share a content hash; in each group the first path (sorted) stays
    clean. Near duplicates are images whose perceptual hashes differ in at most
    `near_bits` bits (the full picture's hash against the other's hashes of slightly
    cropped frames, so a 3% crop still matches), found through band buckets
    (pigeonhole: two hashes within `near_bits` share at least one of `near_bits + 1`
    bands); and texts with the same `text_key`. A near duplicate points at the first
    file of its group (`meta["near_duplicate_of"]`) and takes its split.
    """
    ordered = sorted(range(len(records)), key=lambda i: records[i].path)
    first_of: dict[str, int] = {}
    duplicate: set[int] = set()
    for i in ordered:
        r = records[i]
        if r.size == 0 or FATAL.intersection(r.flags):
            continue
        if r.content_hash in first_of:
            duplicate.add(i)
        else:
            first_of[r.content_hash] = i
    near = _near_images(records, ordered, duplicate, near_bits)
    near.update(_near_texts(records, ordered, duplicate | near.keys()))
    out = []
    for i, r in enumerate(records):
        flags = [f for f in r.flags if f not in CROSS_FILE]
        meta = {k: v for k, v in r.meta.items() if k not in _GROUP_META}
        split = split_of(r.content_hash or r.path)
        if i in duplicate:
            flags.append("duplicate")
        elif i in near:
            first = records[near[i]]
            flags.append("near_duplicate")
            meta.update(near_duplicate_of=first.path, split_key=first.content_hash)
            split = split_of(first.content_hash)
        new_flags = tuple(flags)
        if new_flags == r.flags and meta == r.meta and split == r.split:
            out.append(r)
            continue
        out.append(dataclasses.replace(r, flags=new_flags, score=score_of(new_flags),
                                       meta=meta, split=split))
    return out


def _usable(r: FileRecord) -> bool:
    return r.size > 0 and not FATAL.intersection(r.flags)


def _near_texts(records: list[FileRecord], ordered: list[int],
                skip: Iterable[int]) -> dict[int, int]:
    """record index -> index of the first file (in path order) with the same text key."""
    skip = set(skip)
    first_of: dict[str, int] = {}
    found: dict[int, int] = {}
    for i in ordered:
        key = records[i].meta.get("text_key")
        if not key or i in skip or not _usable(records[i]):
            continue
        if key in first_of:
            found[i] = first_of[key]
        else:
            first_of[key] = i
    return found


def _near_images(records: list[FileRecord], ordered: list[int], skip: set[int],
                 near_bits: int) -> dict[int, int]:
    """record index -> index of the kept image it is a near duplicate of."""
    hashes: list[tuple[int, int, list[int]]] = []  # (record index, full hash, frame hashes)
    width_hex = None
    for i in ordered:
        phash = records[i].meta.get("phash")
        if not phash or i in skip or not _usable(records[i]):
            continue
        width_hex = width_hex or len(phash)
        if len(phash) != width_hex:  # a hash of another size (an older scan's) compares to none
            continue
        frames = [int(f, 16) for f in records[i].meta.get("phash_frames", ())
                  if len(f) == width_hex]
        hashes.append((i, int(phash, 16), frames))
    if len(hashes) < 2:
        return {}
    # near_bits + 1 disjoint bit masks: two hashes within near_bits differ in at most
    # near_bits of them, so they agree on one mask and meet in that bucket. Each mask takes
    # every (near_bits + 1)-th bit: contiguous bit ranges put the low-frequency DCT bits,
    # which barely vary between images of one kind, in one band, and a few buckets then
    # held most images (quadratic: 312 s for 100k digit scans, 21.7 s with these masks and
    # the same flags, bench/scale.py; 2,492 near duplicates then named another, equally
    # close first file, so their split followed that file's)
    bands = near_bits + 1
    masks = [sum(1 << bit for bit in range(b, width_hex * 4, bands)) for b in range(bands)]

    def keys(value: int) -> list[tuple[int, int]]:
        return [(b, value & mask) for b, mask in enumerate(masks)]

    # every hash of a kept image (full and frames), and the full hashes alone
    any_hash: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    full_hash: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    found: dict[int, int] = {}
    for i, value, frames in hashes:
        match = _match(any_hash, keys(value), value, near_bits)
        for frame in frames:
            if match is not None:
                break
            match = _match(full_hash, keys(frame), frame, near_bits)
        if match is not None:
            found[i] = match
            continue
        for key in keys(value):
            full_hash[key].append((i, value))
            any_hash[key].append((i, value))
        for frame in frames:
            for key in keys(frame):
                any_hash[key].append((i, frame))
    return found


def _match(buckets: dict[tuple[int, int], list[tuple[int, int]]], keys: list[tuple[int, int]],
           value: int, near_bits: int) -> int | None:
    """The first indexed image (buckets fill in path order) within `near_bits` of `value`."""
    for key in keys:
        for j, other in buckets.get(key, ()):
            if _hamming(value, other) <= near_bits:
                return j
    return None
