"""Content-based type detection: magic bytes first, then the structure of text.

`sniff(data, name)` looks at the bytes (the whole file, or its head plus `tail` for
big files) and returns the type, format, header facts (dimensions, duration,
encoding) and the flags that need no decoder: `empty`, `truncated` (an end marker
or a container size past the end of the file), `bomb` (header dimensions over the
pixel limit) and `wrong_extension`. The extension is only a hint.

>>> sniff(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8), "cat.jpg").format
'png'
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training_lib.config.file_types import FILE_TYPES
from training_lib.data.detect import extensions, media_headers as mh, text_sniff

DEFAULT_MAX_PIXELS = 90_000_000  # Pillow's own warning threshold is 89.5 Mpx
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024 + 22  # a ZIP's end record may sit behind a 64 KiB comment


@dataclass
class Sniffed:
    type: str
    format: str
    flags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def _magic(d: bytes) -> tuple[str, str] | None:
    """(type, format) from signatures at fixed offsets, or None for text and unknowns."""
    b0 = d[:1]
    if b0 == b"\x89":
        if d.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image", "png"
        if d.startswith(b"\x89HDF\r\n\x1a\n"):
            return "unknown", "hdf5"
    if d.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if d.startswith(b"RIFF") and len(d) >= 12:
        kind = d[8:12]
        if kind == b"WAVE":
            return "audio", "wav"
        if kind == b"WEBP":
            return "image", "webp"
        if kind == b"AVI ":
            return "video", "avi"
        return "unknown", "riff"
    if d.startswith((b"GIF87a", b"GIF89a")):
        return "image", "gif"
    if d.startswith(b"%PDF-") or _pdf_after_junk(d):
        return "document", "pdf"
    if d.startswith(b"fLaC"):
        return "audio", "flac"
    if d.startswith(b"OggS"):
        packet = d[28:40]
        if packet.startswith(b"\x80theora"):
            return "video", "ogg"
        if packet.startswith(b"OpusHead"):
            return "audio", "opus"
        return "audio", "ogg"
    if d.startswith(b"ID3"):
        end = mh.id3_end(d)
        if d[end:end + 4] == b"fLaC":
            return "audio", "flac"
        return "audio", "mp3"
    if d[4:8] == b"ftyp":
        brand = d[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P ", b"F4A "):
            return "audio", "m4a"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"):
            return "image", "heif"
        if brand in (b"avif", b"avis"):
            return "image", "avif"
        if brand == b"qt  ":
            return "video", "mov"
        if brand.startswith(b"3g"):
            return "video", "3gp"
        return "video", "mp4"
    if d[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip") and d[:2] == b"\x00\x00":
        return "video", "mov"
    if d.startswith(b"PK\x03\x04") or d.startswith(b"PK\x05\x06") or d.startswith(b"PK\x07\x08"):
        return _zip_kind(d)
    if d.startswith(b"\x1f\x8b"):
        return "archive", "tar.gz" if mh.gzip_member(d)[257:262] == b"ustar" else "gzip"
    if d[257:262] == b"ustar":
        return "archive", "tar"
    if d.startswith(b"BZh") and d[3:4].isdigit():
        return "archive", "bzip2"
    if d.startswith(b"\xfd7zXZ\x00"):
        return "archive", "xz"
    if d.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "archive", "7z"
    if d.startswith(b"Rar!\x1a\x07"):
        return "archive", "rar"
    if d.startswith(b"\x28\xb5\x2f\xfd"):
        return "archive", "zstd"
    if d.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", "webm" if mh.ebml_doctype(d) == "webm" else "mkv"
    if d.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "image", "tiff"
    if d.startswith(b"BM") and len(d) >= 26 and d[6:10] == b"\x00\x00\x00\x00" and \
            int.from_bytes(d[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return "image", "bmp"
    if d.startswith(b"FORM") and d[8:12] in (b"AIFF", b"AIFC"):
        return "audio", "aiff"
    if d.startswith(b".snd"):
        return "audio", "au"
    if d.startswith(b"MThd"):
        return "audio", "midi"
    if d.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(d)
    if d.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video", "asf"
    if d.startswith(b"FLV\x01"):
        return "video", "flv"
    if d.startswith(b"\x00\x00\x01\xba") or (len(d) > 376 and d[0] == 0x47 == d[188] == d[376]):
        return "video", "mpeg"
    if d.startswith(b"\xff\x0a") or d.startswith(b"\x00\x00\x00\x0cJXL "):
        return "image", "jxl"
    if d.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"):
        return "image", "jp2"
    if d.startswith(b"8BPS"):
        return "image", "psd"
    if d.startswith(b"qoif"):
        return "image", "qoi"
    if d.startswith(b"\x00\x00\x01\x00") and 0 < d[4] < 64 and d[5] == 0 and len(d) > 22:
        return "image", "ico"
    if b0 == b"\xff" and d[1:2] != b"\xfe" and _mpeg_audio(d):
        if d[1] & 0xF6 == 0xF0:  # ADTS: layer bits 00
            return "audio", "aac"
        return "audio", "mp3"
    if d.startswith(b"PAR1"):
        return "tabular", "parquet"
    if d.startswith(b"P") and len(d) > 3 and d[1:2] in b"123456" and d[2:3] in b" \t\r\n" and \
            d[3:].lstrip()[:1].isdigit():
        return "image", "pnm"
    return _registered_signature(d)


def _registered_signature(d: bytes) -> tuple[str, str] | None:
    """(type, format) from the leading bytes file types register (`FileType.signatures`)."""
    for spec in FILE_TYPES.values():
        for signature, fmt in spec.signatures:
            if d.startswith(signature):
                return spec.name, fmt
    return None


def _mpeg_audio(d: bytes) -> bool:
    """Two consecutive frame headers (one when the sample ends before the second)."""
    length = mh.mp3_frame_ok(d, 0)
    if d[1] & 0xF6 == 0xF0:  # ADTS AAC header: check the sampling index and the frame length
        return (d[2] >> 2) & 0x0F < 13 and len(d) >= 7
    if length <= 4 or len(d) < length + 4:
        return length > 0
    return mh.mp3_frame_ok(d, length) > 0


def _pdf_after_junk(d: bytes) -> bool:
    """Readers accept "%PDF-" anywhere in the first KiB; text that quotes it is not a PDF."""
    pos = d.find(b"%PDF-", 0, 1024)
    return pos > 0 and any(b == 0 or b >= 0x80 for b in d[:pos])


def _zip_kind(d: bytes) -> tuple[str, str]:
    if d[30:38] == b"mimetype":
        kind = d[38:90]
        for needle, fmt, type_ in ((b"epub", "epub", "document"), (b"opendocument.text", "odt", "document"),
                                   (b"opendocument.presentation", "odp", "document"),
                                   (b"opendocument.spreadsheet", "ods", "tabular")):
            if needle in kind:
                return type_, fmt
    # member names appear in each local header and again in the central directory
    if b"word/document.xml" in d or b"word/_rels" in d:
        return "document", "docx"
    if b"ppt/presentation.xml" in d or b"ppt/slides/" in d:
        return "document", "pptx"
    if b"xl/workbook.xml" in d or b"xl/worksheets/" in d:
        return "tabular", "xlsx"
    return "archive", "zip"


def _ole_kind(d: bytes) -> tuple[str, str]:
    if "WordDocument".encode("utf-16-le") in d:
        return "document", "doc"
    if "PowerPoint Document".encode("utf-16-le") in d:
        return "document", "ppt"
    if "Workbook".encode("utf-16-le") in d or "Book".encode("utf-16-le") in d:
        return "tabular", "xls"
    return "document", "ole"


def sniff(data: bytes, name: str = "", size: int | None = None, tail: bytes | None = None, *,
          max_pixels: int = DEFAULT_MAX_PIXELS) -> Sniffed:
    """Type, format, header facts and decoder-free flags of one file's bytes.

    `data` is the whole file, or its first bytes when `size` says the file is longer;
    then `tail` should hold its last bytes (end markers live there).
    """
    size = len(data) if size is None else size
    if size == 0:
        return Sniffed("unknown", "empty", ["empty"])
    complete = len(data) >= size
    if tail is None:
        tail = data[-TAIL_BYTES:] if complete else b""
    magic = _magic(data)
    if magic is not None:
        type_, fmt = magic
        result = Sniffed(type_, fmt)
        reader = mh.READERS.get(fmt)
        if reader is not None:
            meta, flags = reader(data, size, tail)
            result.meta.update(meta)
            # without the file's end, an end marker's absence proves nothing
            result.flags.extend(f for f in flags if tail or f != "truncated")
        _refine_container(result)
    else:
        claim = extensions.claimed(name)
        hint = extensions.CODE_EXTENSIONS.get(extensions.split_name(name)[1])
        guess = text_sniff.guess(data, complete, claim, hint)
        result = Sniffed(guess.type, guess.format, list(guess.flags), dict(guess.meta))
        if result.type == "unknown" and claim and FILE_TYPES[claim[0]].binary:
            result.flags.append("corrupt")  # named as media, yet no signature: a damaged header
            return result
        if result.type == "unknown" and claim:
            result.flags.append("undecodable_bytes")  # named as text, yet no encoding fits
            return result
        if guess.encoding:
            result.meta["encoding"] = guess.encoding
        if result.type == "text" and extensions.split_name(name)[1] in ("md", "markdown"):
            result.format = "markdown"  # a README.md with little markup is still Markdown
        if not guess.confident:
            return result
    width, height = result.meta.get("width"), result.meta.get("height")
    if width and height and width * height > max_pixels:
        result.flags.append("bomb")
    if extensions.is_wrong(name, result.type, result.format):
        result.flags.append("wrong_extension")
    return result


def _refine_container(result: Sniffed) -> None:
    """An MP4 holding only sound is audio (an .m4a renamed .mp4 is not a video)."""
    tracks = result.meta.get("tracks")
    if result.type == "video" and tracks == ["soun"]:
        result.type, result.format = "audio", "m4a"
    elif result.type == "audio" and tracks and "vide" in tracks:
        result.type, result.format = "video", "mp4"


def sniff_path(path: str | os.PathLike[str], name: str | None = None, *,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Sniffed:
    """`sniff` for a file on disk, reading its head and tail only."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(HEAD_BYTES)
        tail = b""
        if size > len(data):
            fh.seek(max(size - TAIL_BYTES, 0))
            tail = fh.read()
    return sniff(data, name if name is not None else Path(path).name, size, tail or None,
                 max_pixels=max_pixels)
