"""Decoders the quality checks, the feature cache and the loaders share: audio and text.

A file is decoded the same way when it is judged (`quality.verify_*`), when its
features are computed (`features.preprocess`) and when a loader reads its records or
rows (`read_text`), so what passed the check is what a model reads. For text the one
verdict is the encoding the scan recorded in `FileRecord.meta["encoding"]`: the
sniffer decides it (`detect.text_sniff`, with `guess_encoding` for the legacy code
pages its own rules do not cover) and everything after decodes in it.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

# legacy code pages `guess_encoding` may answer; the rest of charset-normalizer's list
# (cp1006, mac_*, ...) fits damaged UTF-8 or ASCII with stray bytes more often than text
GUESSABLE_ENCODINGS = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256",
                       "cp1257", "koi8_r", "cp932", "euc_jp", "gb18030", "big5", "euc_kr")
_MULTIBYTE = frozenset({"cp932", "euc_jp", "gb18030", "big5", "euc_kr"})
UTF8_NAMES = frozenset({"utf-8", "utf_8", "utf8", "ascii"})
MIN_SCRIPT_WORDS = 3
_SCRIPT_WORD = re.compile(r"[^\W\d_\x00-\x7f]{3,}")  # three or more non-ASCII letters


def is_utf8(encoding: str | None) -> bool:
    """Whether text in `encoding` is UTF-8 (a BOM, held as "utf-8", included); None is UTF-8."""
    return encoding is None or encoding.lower().replace("-sig", "") in UTF8_NAMES


def guess_encoding(data: bytes, complete: bool = True) -> str | None:
    """The legacy code page `data` reads as, by charset-normalizer, or None.

    Only for bytes that are neither UTF-8 nor UTF-16/32: a guess is kept when the
    bytes decode in it without error, its non-ASCII characters make words (at least
    `MIN_SCRIPT_WORDS` runs of three letters or more) and its text reads as a language
    (coherence) or it is a multi-byte CJK encoding. ASCII with a few stray bytes
    fits some code page, yet makes no words in it: it stays UTF-8 with bad bytes.

    >>> guess_encoding("Привет, как дела? Это текст на русском языке.".encode("cp1251"))
    'cp1251'
    >>> guess_encoding(b"The quick brown fox \\xff\\xfe\\xfd jumps over the lazy dog.") is None
    True
    """
    from charset_normalizer import from_bytes

    if not complete:  # a multi-byte character cut by the sample's end is not an error
        data = data[:data.rfind(b"\n") + 1] or data[:-4]
    if not data:
        return None
    best = from_bytes(data, cp_isolation=list(GUESSABLE_ENCODINGS)).best()
    if best is None or best.chaos > 0.2:
        return None
    name = best.encoding
    try:
        data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None
    words = sum(1 for _ in zip(range(MIN_SCRIPT_WORDS), _SCRIPT_WORD.finditer(str(best))))
    if words >= MIN_SCRIPT_WORDS and (best.coherence >= 0.1 or name in _MULTIBYTE):
        return name
    return None


def read_text(path: Path, encoding: str | None) -> str:
    """A file's text as the scan judged it: `decode_text` in the catalog's encoding."""
    return decode_text(Path(path).read_bytes(), encoding)[0]


def decode_text(data: bytes, encoding: str | None) -> tuple[str, int]:
    """(text, number of undecodable characters) in the sniffed encoding (UTF-8 when unknown).

    >>> decode_text("caf\\u00e9".encode("utf-16"), "utf-16-le")  # BOM and all
    ('café', 0)
    """
    name = encoding or "utf-8"
    if name == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        name = "utf-8-sig"
    text = data.decode(name, "replace")
    if name.startswith(("utf-16", "utf-32")):
        text = text.lstrip("\ufeff")
    return text, text.count("\ufffd")


def read_audio(data: bytes, fmt: str) -> tuple[np.ndarray, int]:
    """(samples float32 (n, channels), sample rate): libsndfile first, FFmpeg (PyAV) for
    what it cannot read (AAC/M4A, WAV holding MP3 or ADPCM, some Opus)."""
    if fmt in ("wav", "flac", "ogg", "opus", "mp3", "aiff", "au"):
        import soundfile

        try:
            samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
            return samples, int(rate)
        except (soundfile.LibsndfileError, RuntimeError) as first:
            try:
                return _read_with_av(data)
            except Exception:  # noqa: BLE001 - report libsndfile's reason, the primary decoder
                raise first from None
    return _read_with_av(data)


def _read_with_av(data: bytes) -> tuple[np.ndarray, int]:
    import av

    chunks, rate = [], 0
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            if array.dtype.kind == "i":
                array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
            if frame.format.is_planar:
                array = array.T
            else:
                array = array.reshape(-1, len(frame.layout.channels))
            chunks.append(array.astype(np.float32))
            rate = frame.sample_rate
    if not chunks:
        raise EOFError("no audio frame decoded")
    return np.concatenate(chunks), rate
