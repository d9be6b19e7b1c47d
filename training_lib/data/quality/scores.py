"""Per-file quality: machine-readable flags and a score in [0, 1].

Flags come from three places: the sniffer (no decoder: `empty`, `truncated`, `bomb`,
`wrong_extension`), the decoder checks in `verify_media`/`verify_docs` (`corrupt`,
`blank`, `silent`, `invalid_json`, ...) and the cross-file pass in `duplicates`
(`duplicate` by content hash, `near_duplicate` by perceptual hash or normalised text).
The score is the product of the flags' factors, so a fatal flag gives 0 and milder
ones stack.

>>> score_of(["low_contrast", "wrong_extension"])
0.54
"""
from __future__ import annotations

from typing import Iterable

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
    "too_large": (0.0, "over the scan's size cap for its type: hashed, never decoded or loaded"),
    "duplicate": (0.1, "same bytes as another file (the first path in order is kept clean)"),
    "blank": (0.2, "image of a single flat colour"),
    "silent": (0.2, "audio below the silence level"),
    "no_record_format": (0.25, "JSON records that match no model's format"),
    "unsupported_format": (0.25, "a known format no installed decoder reads"),
    "undecodable_bytes": (0.25, "text with bytes invalid in its encoding"),
    "too_short": (0.25, "audio or text too short to learn from"),
    "near_duplicate": (0.4, "image perceptually equal to another file's, or text equal but for "
                       "whitespace, line endings, BOM or encoding (kept in that file's split)"),
    "tiny": (0.6, "image smaller than the minimum side"),
    "low_contrast": (0.6, "image with a very narrow brightness range"),
    "clipped": (0.6, "audio with many samples at full scale"),
    "ragged_rows": (0.6, "table rows with differing numbers of cells"),
    "unmatched_records": (0.7, "over 10% of the records match no model's format"),
    "invalid_lines": (0.7, "JSON Lines file with a few lines that do not parse"),
    "wrong_extension": (0.9, "the extension names another type or container"),
    "non_utf8_encoding": (0.9, "text in a legacy or UTF-16/32 encoding (meta.encoding), "
                          "read in it"),
}
FATAL = frozenset(flag for flag, (factor, _) in FLAGS.items() if factor == 0.0)
CROSS_FILE = frozenset({"duplicate", "near_duplicate"})


def score_of(flags: Iterable[str]) -> float:
    score = 1.0
    for flag in flags:
        score *= FLAGS.get(flag, (0.5, ""))[0]
    return round(score, 3)


_TRUNCATION_WORDS = ("truncated", "end of file", "unexpected end", "premature end", "eof",
                     "not enough data", "short read", "buffer is not large enough")


def decode_failure(error: BaseException) -> str:
    """The flag a decoder's error means: `truncated` when it ran out of bytes, else `corrupt`."""
    text = f"{type(error).__name__} {error}".lower()
    return "truncated" if any(w in text for w in _TRUNCATION_WORDS) else "corrupt"
