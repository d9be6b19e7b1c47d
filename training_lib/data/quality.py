"""Per-file quality: machine-readable flags and a score in [0, 1].

Flags come from three places: the sniffer (no decoder: `empty`, `truncated`, `bomb`,
`wrong_extension`), the decoder checks in `verify_media`/`verify_docs` (`corrupt`,
`blank`, `silent`, `invalid_json`, ...) and the cross-file pass here (`duplicate` by
content hash, `near_duplicate` by perceptual hash). The score is the product of the
flags' factors, so a fatal flag gives 0 and milder ones stack.

>>> score_of(["low_contrast", "wrong_extension"])
0.54
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from training_lib.data.records import FileRecord
from training_lib.errors import DataError

# flag -> (score factor, meaning). Factors below 0.3 keep a file out of training at any
# sensible quality floor; the file stays in the catalog and the report.
FLAGS: dict[str, tuple[float, str]] = {
    "empty": (0.0, "the file has no bytes"),
    "unreadable": (0.0, "the file could not be opened or read"),
    "corrupt": (0.0, "the decoder rejected the content"),
    "truncated": (0.0, "the content ends before its format says it should"),
    "bomb": (0.0, "declared size (pixels or unpacked bytes) over the limit; never decoded"),
    "invalid_json": (0.0, "JSON that does not parse"),
    "timeout": (0.0, "inspection ran past the per-file time limit"),
    "crashed": (0.0, "the decoder killed its worker process"),
    "duplicate": (0.1, "same bytes as another file (the first path in order is kept clean)"),
    "blank": (0.2, "image of a single flat colour"),
    "silent": (0.2, "audio below the silence level"),
    "no_record_format": (0.25, "JSON records that match no model's format"),
    "unsupported_format": (0.25, "a known format no installed decoder reads"),
    "undecodable_bytes": (0.25, "text with bytes invalid in its encoding"),
    "too_short": (0.25, "audio or text too short to learn from"),
    "near_duplicate": (0.4, "image perceptually equal to another file's"),
    "tiny": (0.6, "image smaller than the minimum side"),
    "low_contrast": (0.6, "image with a very narrow brightness range"),
    "clipped": (0.6, "audio with many samples at full scale"),
    "ragged_rows": (0.6, "table rows with differing numbers of cells"),
    "unmatched_records": (0.7, "over 10% of the records match no model's format"),
    "invalid_lines": (0.7, "JSON Lines file with a few lines that do not parse"),
    "wrong_extension": (0.9, "the extension names another type or container"),
}
FATAL = frozenset(flag for flag, (factor, _) in FLAGS.items() if factor == 0.0)
CROSS_FILE = frozenset({"duplicate", "near_duplicate"})


def score_of(flags: Iterable[str]) -> float:
    score = 1.0
    for flag in flags:
        score *= FLAGS.get(flag, (0.5, ""))[0]
    return round(score, 3)


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of the checks; `scan_folder(**limits)` overrides any of them by name."""

    max_pixels: int = 90_000_000
    max_unpacked_bytes: int = 1 << 30
    min_image_side: int = 16
    blank_std: float = 2.0
    low_contrast_range: float = 32.0
    min_audio_s: float = 0.2
    silence_dbfs: float = -60.0
    clip_level: float = 0.999
    clip_fraction: float = 0.001
    min_text_chars: int = 12
    max_video_frames: int = 3000
    near_duplicate_bits: int = 6  # of 99 perceptual-hash bits
    time_limit_s: float = 20.0
    max_read_bytes: int = 256 << 20  # bigger files are hashed in a stream and not decoded

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "QualityLimits":
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in kwargs.items():
            if key not in known:
                raise DataError(f"unknown scan limit {key!r}={value!r}: expected one of "
                                f"{', '.join(sorted(known))}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise DataError(f"scan limit {key}={value!r}: expected a number >= 0")
        return cls(**kwargs)


Check = Callable[[bytes, str, dict, QualityLimits], tuple[dict, list, "str | None"]]


def _checks() -> dict[str, Check]:
    from training_lib.data import verify_docs, verify_media

    return {"image": verify_media.check_image, "audio": verify_media.check_audio,
            "video": verify_media.check_video, "document": verify_docs.check_document,
            "archive": verify_docs.check_archive, "json": verify_docs.check_json,
            "tabular": verify_docs.check_table, "text": verify_docs.check_text,
            "code": verify_docs.check_text}


_CHECKS: dict[str, Check] = {}


def assess(data: bytes, type_: str, fmt: str, meta: dict[str, Any],
           limits: QualityLimits) -> tuple[dict[str, Any], list[str], str | None]:
    """Decode the whole file and judge it: (extra meta, flags, corrected type or None)."""
    if not _CHECKS:
        _CHECKS.update(_checks())
    check = _CHECKS.get(type_)
    if check is None:
        return {}, [], None
    return check(data, fmt, meta, limits)


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
