"""Facts read from binary headers without decoding: dimensions, durations, truncation.

Each reader takes the file's leading bytes (`data`, the whole file when it is small),
the file size and its last bytes (`tail`), and returns (meta, flags). Nothing here
allocates pixel or sample buffers, so a decompression bomb is caught from its header
before any decoder sees it.
"""
from __future__ import annotations

import struct
import zlib
from typing import Any, Callable

Facts = tuple[dict[str, Any], list[str]]


def _u16be(b: bytes, i: int) -> int:
    return (b[i] << 8) | b[i + 1]


def _u32be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i:i + 4], "big")


def _u16le(b: bytes, i: int) -> int:
    return b[i] | (b[i + 1] << 8)


def _u32le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i:i + 4], "little")


def png(data: bytes, size: int, tail: bytes) -> Facts:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return {}, ["corrupt"]
    meta = {"width": _u32be(data, 16), "height": _u32be(data, 20)}
    # IEND is the last chunk: anywhere in the tail means the image data is all there
    # (bytes appended after it are legal and common)
    return meta, [] if b"IEND\xaeB`\x82" in tail else ["truncated"]


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg(data: bytes, size: int, tail: bytes) -> Facts:
    meta: dict[str, Any] = {}
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD8 or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in _SOF:
            meta = {"height": _u16be(data, i + 5), "width": _u16be(data, i + 7),
                    "progressive": marker in (0xC2, 0xC6, 0xCA, 0xCE)}
            break
        if marker == 0xDA:  # scan data before any frame header
            break
        i += 2 + _u16be(data, i + 2)
    # A JPEG ends with EOI, but data may follow it (a "motion photo" appends a whole MP4),
    # so a missing EOI is only a suspicion here; the decoder check decides.
    if b"\xff\xd9" not in tail[-1024:]:
        meta["eoi_not_at_end"] = True
    return meta, []


def gif(data: bytes, size: int, tail: bytes) -> Facts:
    if len(data) < 10:
        return {}, ["truncated"]
    meta = {"width": _u16le(data, 6), "height": _u16le(data, 8)}
    return meta, [] if b";" in tail[-64:] else ["truncated"]


def bmp(data: bytes, size: int, tail: bytes) -> Facts:
    if len(data) < 26:
        return {}, ["truncated"]
    declared = _u32le(data, 2)
    if _u32le(data, 14) == 12:
        meta = {"width": _u16le(data, 18), "height": _u16le(data, 20)}
    else:
        w, h = struct.unpack_from("<ii", data, 18)
        meta = {"width": abs(w), "height": abs(h)}
    return meta, ["truncated"] if declared > size else []


def _riff_truncated(data: bytes, size: int) -> bool:
    """Some writers store the file size (not size - 8) in the RIFF header: allow 8 bytes."""
    declared = _u32le(data, 4)
    return declared not in (0, 0xFFFFFFFF) and declared > size


def webp(data: bytes, size: int, tail: bytes) -> Facts:
    meta: dict[str, Any] = {}
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        meta = {"width": _u16le(data, 26) & 0x3FFF, "height": _u16le(data, 28) & 0x3FFF}
    elif chunk == b"VP8L" and len(data) >= 25:
        b = data[21:25]
        meta = {"width": 1 + (b[0] | (b[1] & 0x3F) << 8),
                "height": 1 + ((b[1] >> 6) | (b[2] << 2) | ((b[3] & 0x0F) << 10))}
    elif chunk == b"VP8X" and len(data) >= 30:
        meta = {"width": 1 + int.from_bytes(data[24:27], "little"),
                "height": 1 + int.from_bytes(data[27:30], "little")}
    return meta, ["truncated"] if _riff_truncated(data, size) else []


def wav(data: bytes, size: int, tail: bytes) -> Facts:
    meta: dict[str, Any] = {}
    flags = ["truncated"] if _riff_truncated(data, size) else []
    i, n = 12, len(data)
    byte_rate = 0
    while i + 8 <= n:
        cid, length = data[i:i + 4], _u32le(data, i + 4)
        if cid == b"fmt " and i + 24 <= n:
            tag, channels, rate, byte_rate = struct.unpack_from("<HHII", data, i + 8)
            meta.update(codec_tag=tag, channels=channels, sample_rate=rate,
                        bits_per_sample=_u16le(data, i + 22))
        elif cid == b"data":
            if length in (0, 0xFFFFFFFF):  # streamed WAV: length unknown, use what is there
                length = size - i - 8
            elif i + 8 + length > size:
                flags = ["truncated"]
                length = size - i - 8
            meta["data_bytes"] = length
            if byte_rate:
                meta["duration_s"] = round(length / byte_rate, 4)
            break
        i += 8 + length + (length & 1)
    else:
        if "sample_rate" not in meta:
            flags = ["truncated" if size < 44 else "corrupt"]
    return meta, flags


def flac(data: bytes, size: int, tail: bytes) -> Facts:
    start = data.find(b"fLaC", 0, 64 * 1024)
    b = data[start + 8:start + 26] if start >= 0 else b""
    if len(b) < 18 or data[start + 4] & 0x7F != 0:
        return {}, ["corrupt"]
    rate = (b[10] << 12) | (b[11] << 4) | (b[12] >> 4)
    channels = ((b[12] >> 1) & 0x07) + 1
    bits = (((b[12] & 1) << 4) | (b[13] >> 4)) + 1
    total = ((b[13] & 0x0F) << 32) | _u32be(b, 14)
    meta: dict[str, Any] = {"sample_rate": rate, "channels": channels, "bits_per_sample": bits}
    flags: list[str] = []
    if total and rate:
        meta["duration_s"] = round(total / rate, 4)
        meta["n_samples"] = total
        end = _flac_last_frame_end(tail, _u16be(b, 0))
        if end is not None and end < total:
            flags.append("truncated")
    return meta, flags


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


_FLAC_BLOCK = {1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608, 8: 256, 9: 512, 10: 1024, 11: 2048,
               12: 4096, 13: 8192, 14: 16384, 15: 32768}


def _flac_last_frame_end(tail: bytes, fixed_block: int) -> int | None:
    """Sample index where the last complete-looking frame in `tail` ends, from the last
    frame header whose CRC-8 checks out (None when no header is found).

    A file cut short ends inside a frame well before the STREAMINFO sample count."""
    pos = len(tail)
    for _ in range(64):
        pos = max(tail.rfind(b"\xff\xf8", 0, pos), tail.rfind(b"\xff\xf9", 0, pos))
        if pos < 0:
            return None
        header = _flac_frame_header(tail, pos, fixed_block)
        if header is not None:
            start, block = header
            return start + block
    return None


def _flac_frame_header(d: bytes, i: int, fixed_block: int) -> tuple[int, int] | None:
    if i + 6 > len(d):
        return None
    variable = d[i + 1] & 1
    block_code, rate_code = d[i + 2] >> 4, d[i + 2] & 0x0F
    if block_code == 0 or rate_code == 15 or d[i + 3] & 1 or (d[i + 3] >> 4) > 10:
        return None
    j = i + 4
    first = d[j]
    extra = 0
    while first & (0x80 >> extra) and extra < 7:
        extra += 1
    if extra == 1 or extra > 7:
        return None
    value = first & (0x7F >> extra) if extra else first
    for k in range(1, max(extra, 1)):
        if j + k >= len(d) or d[j + k] & 0xC0 != 0x80:
            return None
        value = (value << 6) | (d[j + k] & 0x3F)
    j += max(extra, 1)
    if block_code == 6:
        block, j = d[j] + 1, j + 1
    elif block_code == 7:
        block, j = _u16be(d, j) + 1, j + 2
    else:
        block = _FLAC_BLOCK[block_code]
    j += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if j >= len(d) or _crc8(d[i:j]) != d[j]:
        return None
    return (value if variable else value * fixed_block), block


def bmff(data: bytes, size: int, tail: bytes) -> Facts:
    """ISO base media (MP4/MOV/M4A/HEIF): walk the top-level boxes, find the track kinds."""
    meta: dict[str, Any] = {"brand": data[8:12].decode("latin-1").strip()}
    boxes: list[str] = []
    off, flags = 0, []
    whole = len(data) >= size
    while off + 8 <= len(data):
        length = _u32be(data, off)
        kind = data[off + 4:off + 8]
        if length == 1 and off + 16 <= len(data):
            length = int.from_bytes(data[off + 8:off + 16], "big")
        elif length == 0:
            length = size - off
        if length < 8 or not kind.isascii():
            flags.append("corrupt")
            break
        boxes.append(kind.decode("latin-1"))
        if off + length > size:
            flags.append("truncated")
            break
        off += length
    if whole and not flags and "moov" not in boxes and "mdat" in boxes:
        flags.append("truncated")  # the index of a non-streaming MP4 is written last
    handlers = set()
    pos = data.find(b"hdlr")
    while pos >= 0 and len(handlers) < 8:
        handlers.add(data[pos + 12:pos + 16])
        pos = data.find(b"hdlr", pos + 4)
    meta["tracks"] = sorted(h.decode("latin-1") for h in handlers if h in (b"vide", b"soun"))
    return meta, flags


def ebml_doctype(data: bytes) -> str:
    pos = data.find(b"\x42\x82", 0, 64)
    if pos < 0 or pos + 3 > len(data):
        return "matroska"
    length = data[pos + 2] & 0x7F if data[pos + 2] & 0x80 else 0
    return data[pos + 3:pos + 3 + length].decode("latin-1", "replace") or "matroska"


def pdf(data: bytes, size: int, tail: bytes) -> Facts:
    return {}, [] if b"%%EOF" in tail[-2048:] else ["truncated"]


def zip_(data: bytes, size: int, tail: bytes) -> Facts:
    return {}, [] if b"PK\x05\x06" in tail[-65557:] else ["truncated"]


def gzip_member(data: bytes) -> bytes:
    """The first few hundred bytes inside a gzip stream (to recognize a .tar.gz)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:8192], 600)
    except zlib.error:
        return b""


def mp3_frame_ok(data: bytes, i: int) -> int:
    """Length of a valid MPEG audio frame starting at i, or 0."""
    if i + 4 > len(data) or data[i] != 0xFF or data[i + 1] & 0xE0 != 0xE0:
        return 0
    version = (data[i + 1] >> 3) & 3
    layer = (data[i + 1] >> 1) & 3
    bitrate_idx = data[i + 2] >> 4
    rate_idx = (data[i + 2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate_idx in (0, 15) or rate_idx == 3:
        return 0
    if layer != 1:  # only layer III frames are measured; II/I are rare in data folders
        return 4
    v1 = version == 3
    rates = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320) if v1 else \
        (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
    sample_rate = ((44100, 48000, 32000), (22050, 24000, 16000), (11025, 12000, 8000))[
        0 if v1 else 1 if version == 2 else 2][rate_idx]
    padding = (data[i + 2] >> 1) & 1
    return (144 if v1 else 72) * rates[bitrate_idx - 1] * 1000 // sample_rate + padding


def id3_end(data: bytes) -> int:
    if not data.startswith(b"ID3") or len(data) < 10:
        return 0
    return 10 + ((data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7
                 | (data[9] & 0x7F))


READERS: dict[str, Callable[[bytes, int, bytes], Facts]] = {
    "png": png, "jpeg": jpeg, "gif": gif, "bmp": bmp, "webp": webp, "wav": wav,
    "flac": flac, "mp4": bmff, "mov": bmff, "m4a": bmff, "heif": bmff, "avif": bmff,
    "3gp": bmff, "pdf": pdf, "zip": zip_, "docx": zip_, "pptx": zip_, "xlsx": zip_,
    "odt": zip_, "odp": zip_, "ods": zip_, "epub": zip_, "jar": zip_,
}
