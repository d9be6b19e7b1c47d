"""The cross-file quality pass: exact duplicates by content hash, near ones by perceptual hash."""
from __future__ import annotations

import dataclasses
from collections import defaultdict

from training_lib.data.quality.scores import CROSS_FILE, FATAL, score_of
from training_lib.data.records import FileRecord


def _hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def mark_duplicates(records: list[FileRecord], near_bits: int = 6) -> list[FileRecord]:
    """Recompute the cross-file flags of a whole scan (order-independent).

    Exact duplicates share a content hash; in each group the first path (sorted) stays
    clean. Near duplicates are images whose perceptual hashes differ in at most
    `near_bits` bits, found through band buckets (pigeonhole: two hashes within
    `near_bits` share at least one of `near_bits + 1` bands).
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
    near = _near_duplicates(records, ordered, duplicate, near_bits)
    out = []
    for i, r in enumerate(records):
        flags = [f for f in r.flags if f not in CROSS_FILE]
        if i in duplicate:
            flags.append("duplicate")
        elif i in near:
            flags.append("near_duplicate")
            meta = {**r.meta, "near_duplicate_of": near[i]}
        new_flags = tuple(flags)
        if new_flags == r.flags:
            out.append(r)
            continue
        out.append(dataclasses.replace(r, flags=new_flags, score=score_of(new_flags),
                                       meta=meta if i in near else
                                       {k: v for k, v in r.meta.items() if k != "near_duplicate_of"}))
    return out


def _near_duplicates(records: list[FileRecord], ordered: list[int], skip: set[int],
                     near_bits: int) -> dict[int, str]:
    hashes: list[tuple[int, int]] = []
    for i in ordered:
        phash = records[i].meta.get("phash")
        if phash and i not in skip and not FATAL.intersection(records[i].flags):
            hashes.append((i, int(phash, 16)))
    if len(hashes) < 2:
        return {}
    n_bits = len(records[hashes[0][0]].meta["phash"]) * 4
    bands = near_bits + 1
    width = max(1, n_bits // bands)
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    kept: list[tuple[int, int]] = []  # (record index, hash) of images not themselves near dups
    found: dict[int, str] = {}
    mask = (1 << width) - 1
    for i, value in hashes:
        keys = [(b, (value >> (b * width)) & mask) for b in range(bands)]
        seen: set[int] = set()
        match = None
        for key in keys:
            for j in buckets.get(key, ()):
                if j in seen:
                    continue
                seen.add(j)
                if _hamming(value, kept[j][1]) <= near_bits:
                    match = kept[j][0]
                    break
            if match is not None:
                break
        if match is not None:
            found[i] = records[match].path
            continue
        kept.append((i, value))
        for key in keys:
            buckets[key].append(len(kept) - 1)
    return found
