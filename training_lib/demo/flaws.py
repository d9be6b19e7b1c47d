"""Deliberately flawed files for the demo folder, each made from a good demo file.

Every flaw is written next to good files of its kind (so loaders must honour the
flags) or under `flawed/` when it has no natural home, and returned with the flags
a correct scan must raise. File names sort after their originals, so that for exact
and near duplicates the copy, not the original, is the one flagged.
"""
from __future__ import annotations

import io
import json
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

Truth = dict[str, dict[str, Any]]  # path -> {"type", "format", "label", "flags"}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels; only a few bytes of data follow."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def bmp_bomb(width: int, height: int) -> bytes:
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    body = bytes(256)
    size = 14 + len(header) + len(body)
    return b"BM" + struct.pack("<IHHI", size, 0, 0, 54) + header + body


def _image_bytes(image: Any, fmt: str, **kw: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


class FlawWriter:
    def __init__(self, out: Path, rng: random.Random) -> None:
        self.out = out
        self.rng = rng
        self.truth: Truth = {}
        self.removed: list[str] = []  # good files a flaw replaced

    def put(self, rel: str, data: bytes, type_: str, fmt: str, flags: list[str],
            label: str | None = None) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.truth[rel] = {"type": type_, "format": fmt, "label": label, "flags": sorted(flags)}

    def move(self, rel: str, new_rel: str, type_: str, fmt: str, flags: list[str],
             label: str | None = None) -> None:
        self.put(new_rel, (self.out / rel).read_bytes(), type_, fmt, flags, label)
        (self.out / rel).unlink()
        self.removed.append(rel)

    def sample(self, items: list[tuple[str, str, str]], n: int) -> list[tuple[str, str, str]]:
        return self.rng.sample(items, min(n, len(items)))


def _folder(rel: str) -> str:
    return rel.rsplit("/", 1)[0]


def make_flaws(out: Path, good: dict[str, list[tuple[str, str, str]]],
               rng: random.Random) -> tuple[Truth, list[str]]:
    """Write the flawed files; `good` maps kind -> [(path, format, label)] of good files.
    Returns (truth of the flawed files, good files they replaced)."""
    from PIL import Image, ImageEnhance

    w = FlawWriter(out, rng)
    read = lambda rel: (out / rel).read_bytes()  # noqa: E731
    pngs = [g for g in good["image"] if g[1] == "png"]
    jpegs = [g for g in good["image"] if g[1] == "jpeg"]
    wavs = [g for g in good["audio"] if g[1] == "wav"]
    flacs = [g for g in good["audio"] if g[1] == "flac"]

    # wrong extensions: good files renamed (moved, so that they are not also duplicates)
    for items, count, ext, type_ in ((pngs, 12, "jpg", "image"), (jpegs, 12, "png", "image"),
                                     (wavs, 6, "mp3", "audio"), (flacs, 6, "wav", "audio")):
        for n, item in enumerate(w.sample(items, count)):
            rel, fmt, label = item
            w.move(rel, f"{_folder(rel)}/zz_renamed_{n}.{ext}", type_, fmt, ["wrong_extension"], label)
            items.remove(item)
            good["image" if type_ == "image" else "audio"].remove(item)
    for n, item in enumerate([g for g in good["records"] if g[1] == "jsonl"][:2]):
        w.move(item[0], f"{_folder(item[0])}/zz_renamed_{n}.txt", "json", "jsonl", ["wrong_extension"])
        good["records"].remove(item)

    cut = lambda data, share: data[:max(1, int(len(data) * share))]  # noqa: E731
    for kind, items, type_, flag in (("png", pngs, "image", "truncated"), ("jpg", jpegs, "image", "truncated"),
                                     ("wav", wavs, "audio", "truncated"), ("flac", flacs, "audio", "truncated"),
                                     ("mp4", good["video"], "video", "truncated"),
                                     ("pdf", [g for g in good["document"] if g[1] == "pdf"], "document", "truncated"),
                                     ("docx", [g for g in good["document"] if g[1] == "docx"], "document",
                                      "truncated")):
        count = (15 if type_ == "image" else 12) if type_ in ("image", "audio") else 3
        for n, (rel, fmt, label) in enumerate(w.sample(items, count)):
            w.put(f"{_folder(rel)}/zz_truncated_{n}.{kind}", cut(read(rel), rng.uniform(0.4, 0.8)),
                  type_, fmt, [flag], label)
    arrays = [g for g in good["records"] if g[1] == "json"]
    for n, (rel, fmt, label) in enumerate(w.sample(arrays, 3)):
        w.put(f"{_folder(rel)}/zz_truncated_{n}.json", cut(read(rel), 0.5), "json", "json", ["invalid_json"])

    for n, (rel, fmt, label) in enumerate(w.sample(pngs, 14)):  # corrupt: a damaged IDAT (CRC)
        data = bytearray(read(rel))
        at = data.find(b"IDAT") + 12
        data[at:at + 8] = bytes(8)
        w.put(f"{_folder(rel)}/zz_corrupt_{n}.png", bytes(data), "image", "png", ["corrupt"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(jpegs, 4)):  # corrupt: a bogus Huffman table
        data = bytearray(read(rel))
        at = data.find(b"\xff\xc4")
        data[at + 5:at + 21] = b"\xff" * 16
        w.put(f"{_folder(rel)}/zz_corrupt_{n}.jpg", bytes(data), "image", "jpeg", ["corrupt"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(good["document"], 4)):
        if fmt == "docx":  # corrupt: damaged deflate data, the member's CRC no longer matches
            data = bytearray(read(rel))
            at = data.find(b"word/document.xml") + 40
            data[at:at + 16] = bytes(16)
            w.put(f"{_folder(rel)}/zz_corrupt_{n}.docx", bytes(data), "document", "docx", ["corrupt"], label)
    for n, ext in enumerate(("png", "wav", "mp4", "pdf")):  # noise under a media name: a damaged header
        w.put(f"flawed/random_bytes_{n}.{ext}", bytes([0x00, 0x13]) + rng.randbytes(3000), "unknown", "binary",
              ["corrupt"])

    for n, ext in enumerate(("png", "jpg", "wav", "flac", "txt", "json", "csv", "pdf", "mp4", "py")):
        w.put(f"flawed/empty_{n}.{ext}", b"", "unknown", "empty", ["empty"])

    for n, (rel, fmt, label) in enumerate(w.sample(good["image"] + good["audio"] + good["text"], 70)):
        ext = rel.rsplit(".", 1)[1]
        kind = "image" if rel.startswith("images/") else "audio" if rel.startswith("audio/") else "text"
        w.put(f"{_folder(rel)}/zz_copy_{n}.{ext}", read(rel), kind, fmt, ["duplicate"], label)

    images = w.sample(pngs, 70)
    for n, (rel, fmt, label) in enumerate(images):  # re-encoded, rescaled or re-toned copies
        with Image.open(out / rel) as im:
            im.load()
        if n % 3 == 0:
            data, ext, fmt2 = _image_bytes(im, "JPEG", quality=85), "jpg", "jpeg"
        elif n % 3 == 1:
            data, ext, fmt2 = _image_bytes(im.resize((28, 28)).resize((32, 32)), "PNG"), "png", "png"
        else:
            data, ext, fmt2 = _image_bytes(ImageEnhance.Contrast(im).enhance(0.85), "PNG"), "png", "png"
        w.put(f"{_folder(rel)}/zz_near_{n}.{ext}", data, "image", fmt2, ["near_duplicate"], label)

    for n in range(20):
        shade = (255, 0, 128, 200, 40)[n % 5]
        fmt = "png" if n % 2 else "jpeg"
        label = str(n % 10)
        side = 32 + n  # distinct sizes: identical blanks would be duplicates as well
        data = _image_bytes(Image.new("L", (side, side), shade), "PNG" if fmt == "png" else "JPEG")
        w.put(f"images/{label}/zz_blank_{n}.{'png' if fmt == 'png' else 'jpg'}", data, "image", fmt, ["blank"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(pngs, 10)):
        with Image.open(out / rel) as im:
            faint = Image.fromarray((120 + np.asarray(im, dtype=np.float32) * 20 / 255).astype(np.uint8))
        w.put(f"{_folder(rel)}/zz_faint_{n}.png", _image_bytes(faint, "PNG"), "image", "png", ["low_contrast"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(pngs, 10)):
        with Image.open(out / rel) as im:
            small = im.resize((6, 6))
        w.put(f"{_folder(rel)}/zz_tiny_{n}.png", _image_bytes(small, "PNG"), "image", "png", ["tiny"], label)
    w.put("flawed/bomb_100000x100000.png", png_bomb(100_000, 100_000), "image", "png", ["bomb"])
    w.put("flawed/bomb_30000x40000.png", png_bomb(30_000, 40_000), "image", "png", ["bomb"])
    w.put("flawed/bomb_60000x60000.bmp", bmp_bomb(60_000, 60_000), "image", "bmp", ["bomb"])

    _audio_flaws(w, wavs, out)
    _text_flaws(w, good, out)
    return w.truth, w.removed


def _audio_flaws(w: FlawWriter, wavs: list[tuple[str, str, str]], out: Path) -> None:
    import soundfile

    rng = w.rng
    for n, (rel, fmt, label) in enumerate(w.sample(wavs, 10)):
        rate = soundfile.info(str(out / rel)).samplerate
        quiet = np.zeros(int(rate * (0.8 + 0.01 * n)), dtype=np.float32)
        if n % 2:
            quiet += np.random.default_rng(n).normal(0, 1e-5, quiet.size).astype(np.float32)
        w.put(f"{_folder(rel)}/zz_silent_{n}.wav", _wav_bytes(quiet, rate), "audio", "wav", ["silent"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(wavs, 10)):
        samples, rate = soundfile.read(str(out / rel), dtype="float32")
        loud = np.clip(samples * rng.uniform(6, 12), -1.0, 1.0)
        w.put(f"{_folder(rel)}/zz_clipped_{n}.wav", _wav_bytes(loud, rate), "audio", "wav", ["clipped"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(wavs, 8)):
        samples, rate = soundfile.read(str(out / rel), dtype="float32")
        start = int(np.argmax(np.abs(samples) > 0.05))
        blip = samples[start:start + int(rate * 0.08)]
        w.put(f"{_folder(rel)}/zz_short_{n}.wav", _wav_bytes(blip, rate), "audio", "wav", ["too_short"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(wavs, 4)):  # an unknown codec tag
        data = bytearray((out / rel).read_bytes())
        at = data.find(b"fmt ") + 8
        data[at:at + 2] = struct.pack("<H", 0x7A11)
        w.put(f"{_folder(rel)}/zz_corrupt_{n}.wav", bytes(data), "audio", "wav", ["corrupt"], label)


def _text_flaws(w: FlawWriter, good: dict[str, list[tuple[str, str, str]]], out: Path) -> None:
    rng = w.rng
    damage = (b"\xff\xfe\xfd", b"\xc3\x28", b"\x81\x8d", b"\xe2\x82", b"\xf0\x28\x8c\xbc")
    for n, (rel, fmt, label) in enumerate(w.sample(good["text"], 10)):
        data = (out / rel).read_bytes()
        cuts = sorted(rng.sample(range(1, max(len(data) - 1, 6)), 3))
        broken = data[:cuts[0]] + damage[n % 5] + data[cuts[0]:cuts[1]] + damage[(n + 2) % 5] + data[cuts[1]:]
        w.put(f"{_folder(rel)}/zz_badbytes_{n}.txt", broken, "text", "plain", ["undecodable_bytes"], label)
    for n, word in enumerate(("ok", "yes.", "hmm...", "see above", "-", "TODO", "n/a", "thx")):
        label = good["text"][n * 7 % len(good["text"])][2]
        w.put(f"text/{label}/zz_short_{n}.txt", (word + "\n").encode(), "text", "plain", ["too_short"], label)
    for n, (rel, fmt, label) in enumerate(w.sample(good["text"], 6)):  # legitimate encodings
        text = (out / rel).read_text(encoding="utf-8")
        if n % 2 == 0:  # the same text re-encoded: a near duplicate of its original
            w.put(f"{_folder(rel)}/zz_utf16_{n}.txt", text.encode("utf-16"), "text", "plain",
                  ["near_duplicate", "non_utf8_encoding"], label)
        else:
            latin = text.encode("cp1252", "replace")
            w.put(f"{_folder(rel)}/zz_cp1252_{n}.txt", latin + " Caf\xe9 cr\xe8me.\n".encode("cp1252"),
                  "text", "plain", ["non_utf8_encoding"], label)
    invalid = ('[{"problem": "1+1", "answer": "2"}, {"problem": "2+2" "answer": "4"}]',
               '{"problem": "3+4", "answer": "7",}',
               "[{'proposition': 'True', 'answer': true}]",
               '[{"proposition": "True and False", "answer": false}, {"proposition": ',
               '{"features": [0.1, 0.2, NaN_oops]}')
    for n, text in enumerate(invalid):
        folder = ("math", "math", "logic", "logic", "concepts")[n]
        w.put(f"{folder}/zz_invalid_{n}.json", text.encode(), "json", "json", ["invalid_json"])
    unmatched = [{"question": "What is 2+2?", "reply": "4"}, {"q": "capital of France", "a": "Paris"}]
    for n in range(3):
        items = [dict(unmatched[k % 2], id=k) for k in range(20 + n)]
        w.put(f"flawed/unknown_records_{n}.json", json.dumps(items).encode(), "json", "json",
              ["no_record_format"])

