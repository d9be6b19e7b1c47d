"""Fixture files for the data tests, made at test time from real encoders.

`samples` writes one small good file of every detectable type and one file per flaw
into a session folder; each test copies what it needs into its own tmp_path so no
test sees another's changes.
"""
from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from training_lib.data import demo_flaws, demo_text

_RNG = np.random.default_rng(7)


def _image(size: int = 32) -> "object":
    from PIL import Image

    yy, xx = np.mgrid[0:size, 0:size]
    pixels = ((np.sin(xx / 3.0) + np.cos(yy / 4.0)) * 60 + 128).clip(0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([pixels, pixels[::-1], pixels.T], axis=-1))


def _save(image: "object", fmt: str, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)  # type: ignore[attr-defined]
    return buffer.getvalue()


def _tone(seconds: float = 0.6, rate: int = 16000, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t) * np.hanning(t.size)).astype(np.float32)


def _audio(fmt: str, samples: np.ndarray | None = None, rate: int = 16000, subtype: str | None = None) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, _tone() if samples is None else samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def _video(container: str, codec: str, frames: int = 6) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=8)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for k in range(frames):
            from PIL import Image

            frame = av.VideoFrame.from_image(Image.fromarray(np.full((32, 32, 3), 20 * k, np.uint8)))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def _aac_in_mp4() -> bytes:
    """An audio-only MP4 (what phones save as .m4a), AAC-encoded by FFmpeg."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        samples = (_tone(0.6) * 32767).astype(np.int16).reshape(1, -1)
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + 1024], format="s16", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PYTHON_SOURCE = Path(json.__file__).read_bytes()
PROSE = (b"The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.\n"
         b"How vexingly quick daft zebras jump! Sphinx of black quartz, judge my vow.\n")

# name -> (bytes, expected type, expected format)
GOOD: dict[str, tuple[bytes, str, str]] = {}


def _good() -> dict[str, tuple[bytes, str, str]]:
    img = _image()
    good = {
        "picture.png": (_save(img, "PNG"), "image", "png"),
        "photo.jpg": (_save(img, "JPEG", quality=90), "image", "jpeg"),
        "anim.gif": (_save(img, "GIF"), "image", "gif"),
        "bitmap.bmp": (_save(img, "BMP"), "image", "bmp"),
        "scan.tiff": (_save(img, "TIFF"), "image", "tiff"),
        "web.webp": (_save(img, "WEBP"), "image", "webp"),
        "speech.wav": (_audio("WAV", subtype="PCM_16"), "audio", "wav"),
        "speech.flac": (_audio("FLAC"), "audio", "flac"),
        "speech.ogg": (_audio("OGG", subtype="VORBIS"), "audio", "ogg"),
        "speech.mp3": (_audio("MP3"), "audio", "mp3"),
        "voice.m4a": (_aac_in_mp4(), "audio", "m4a"),
        "clip.mp4": (_video("mp4", "libx264"), "video", "mp4"),
        "clip.mov": (_video("mov", "libx264"), "video", "mov"),
        "clip.mkv": (_video("matroska", "libx264"), "video", "mkv"),
        "clip.webm": (_video("webm", "libvpx"), "video", "webm"),
        "clip.avi": (_video("avi", "mpeg4"), "video", "avi"),
        "paper.pdf": (demo_text.pdf_bytes("Title", [PROSE.decode()] * 3), "document", "pdf"),
        "letter.docx": (demo_text.docx_bytes("Letter", [PROSE.decode()]), "document", "docx"),
        "slides.pptx": (_zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml":
                              b'<p:presentation xmlns:p="p"><p:sldSz cx="9144000" cy="6858000"/></p:presentation>',
                              "ppt/slides/slide1.xml": b"<p:sld xmlns:p='p'/>"}), "document", "pptx"),
        "bundle.zip": (_zip({"a.txt": PROSE, "b.txt": PROSE[::-1]}), "archive", "zip"),
        "bundle.tar": (_tar({"a.txt": PROSE}), "archive", "tar"),
        "bundle.tar.gz": (_tar({"a.txt": PROSE}, "w:gz"), "archive", "tar.gz"),
        "notes.txt.gz": (gzip.compress(PROSE * 20), "archive", "gzip"),
        "records.json": (json.dumps([{"problem": "1+2", "answer": "3"}] * 5).encode(), "json", "json"),
        "records.jsonl": (b"".join(json.dumps({"proposition": "True or False", "answer": True}).encode()
                                   + b"\n" for _ in range(5)), "json", "jsonl"),
        "table.csv": (b"sepal_length,sepal_width,target\n5.1,3.5,setosa\n4.9,3.0,setosa\n6.2,2.9,virginica\n",
                      "tabular", "csv"),
        "table.tsv": (b"a\tb\tc\n1\t2\t3\n4\t5\t6\n7\t8\t9\n", "tabular", "tsv"),
        "README.md": (b"# Project\n\nSome *text* and a [link](https://example.org).\n\n- one\n- two\n\n"
                      b"## Usage\n\n```\nrun it\n```\n", "text", "markdown"),
        "module.py": (PYTHON_SOURCE, "code", "python"),
        "header.h": (b"#include <stdio.h>\n#include <stdlib.h>\n\n#define MAX 10\n\nstatic int add(int a, int b)\n"
                     b"{\n    return a + b;\n}\n\nint main(void)\n{\n    printf(\"%d\\n\", add(1, 2));\n"
                     b"    return 0;\n}\n", "code", "c"),
        "build.sh": (b"#!/bin/sh\nset -e\nfor f in *.txt; do\n  echo \"$f\"\ndone\n", "code", "shell"),
        "story.txt": (PROSE * 3, "text", "plain"),
        "utf16.txt": ((PROSE.decode() + " caf\u00e9").encode("utf-16"), "text", "plain"),
        "latin1.txt": ("Cr\u00e8me br\u00fbl\u00e9e is a dessert of rich custard topped with hard caramel. "
                       "Na\u00efve fa\u00e7ade.\n".encode("cp1252"), "text", "plain"),
    }
    return good


def _flawed(good: dict[str, tuple[bytes, str, str]]) -> dict[str, tuple[bytes, list[str]]]:
    from PIL import Image

    png, jpeg = good["picture.png"][0], good["photo.jpg"][0]
    damaged = bytearray(png)
    at = damaged.find(b"IDAT") + 12
    damaged[at:at + 8] = bytes(8)
    loud = np.clip(_tone(amplitude=1.0) * 8, -1, 1)
    return {
        "empty.png": (b"", ["empty"]),
        "truncated.png": (png[:len(png) // 2], ["truncated"]),
        "truncated.jpg": (jpeg[:len(jpeg) // 2], ["truncated"]),
        "truncated.wav": (good["speech.wav"][0][:9000], ["truncated"]),
        "truncated.flac": (good["speech.flac"][0][:len(good["speech.flac"][0]) // 2], ["truncated"]),
        "truncated.mp4": (good["clip.mp4"][0][:len(good["clip.mp4"][0]) * 2 // 3], ["truncated"]),
        "truncated.pdf": (good["paper.pdf"][0][:400], ["truncated"]),
        "truncated.docx": (good["letter.docx"][0][:600], ["truncated"]),
        "corrupt.png": (bytes(damaged), ["corrupt"]),
        "renamed.jpg": (png, ["wrong_extension"]),
        "noise.png": (b"\x00\x13" + bytes(_RNG.integers(0, 256, 2000, dtype=np.uint8)), ["corrupt"]),
        "blank.png": (_save(Image.new("RGB", (40, 40), (200, 200, 200)), "PNG"), ["blank"]),
        "faint.png": (_save(Image.fromarray((np.asarray(_image().convert("L")) / 16 + 100).astype(np.uint8)), "PNG"),
                      ["low_contrast"]),
        "tiny.png": (_save(_image(6), "PNG"), ["tiny"]),
        "bomb.png": (demo_flaws.png_bomb(100_000, 100_000), ["bomb"]),
        "silent.wav": (_audio("WAV", np.zeros(16000, np.float32), subtype="PCM_16"), ["silent"]),
        "clipped.wav": (_audio("WAV", loud, subtype="PCM_16"), ["clipped"]),
        "short.wav": (_audio("WAV", _tone(0.05), subtype="PCM_16"), ["too_short"]),
        "badbytes.txt": (PROSE[:60] + b"\xff\xfe\xfd" + PROSE[60:] + "caf\u00e9".encode() + b"\xc3(",
                         ["undecodable_bytes"]),
        "short.txt": (b"ok\n", ["too_short"]),
        "invalid.json": (b'[{"problem": "1+1", "answer": "2"}, {"problem": "2+2" "answer": "4"}]', ["invalid_json"]),
        "unknown_records.json": (json.dumps([{"question": "q", "reply": "r"}] * 3).encode(), ["no_record_format"]),
    }


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder: good/<name> for every detectable type, flawed/<name> for every flaw."""
    root = tmp_path_factory.mktemp("samples")
    good = _good()
    GOOD.update(good)
    for name, (data, _, _) in good.items():
        (root / "good").mkdir(exist_ok=True)
        (root / "good" / name).write_bytes(data)
    for name, (data, _) in _flawed(good).items():
        (root / "flawed").mkdir(exist_ok=True)
        (root / "flawed" / name).write_bytes(data)
    return root


@pytest.fixture(scope="session")
def flaws(samples: Path) -> dict[str, list[str]]:
    return {name: flags for name, (_, flags) in _flawed(GOOD).items()}


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A small labelled data root: images/<label>/, text/<label>/, a JSONL, a CSV."""
    root = tmp_path / "data"
    img = _image()
    for label, shade in (("cats", 0), ("dogs", 90)):
        for k in range(3):
            from PIL import ImageOps

            variant = ImageOps.posterize(img.rotate(30 * k + shade), 4 + k % 3)
            path = root / "images" / label / f"{label}_{k}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            variant.save(path)
    for label in ("news", "poems"):
        for k in range(2):
            path = root / "text" / label / f"{k}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{label} number {k}: " + PROSE.decode())
    (root / "math").mkdir()
    (root / "math" / "sums.jsonl").write_text("".join(
        json.dumps({"problem": f"{a}+{a}", "answer": str(2 * a)}) + "\n" for a in range(20)))
    return root


if sys.platform == "win32":  # pragma: no cover
    collect_ignore = ["."]
