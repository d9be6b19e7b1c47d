"""Decode one file into the fixed-shape array a model eats (what the feature cache stores).

| kind          | array                                  | from                               |
|---------------|----------------------------------------|------------------------------------|
| image         | uint8 (S, S, 3)                        | any image Pillow decodes           |
| audio         | float32 (N_MELS, frames) log-mel       | WAV/FLAC/OGG/MP3 (soundfile), M4A (PyAV) |
| text          | int32 (L,) UTF-8 byte + 1, 0 = padding | text and code, in their encoding   |
| document      | uint8 (S, S, 3) first page             | PDF rendered by PDFium; DOCX/PPTX text laid out by Pillow |
| document_text | int32 (L,)                             | the document's text                |
| video         | uint8 (N_FRAMES, S, S, 3)              | frames evenly spaced over the clip (PyAV) |

S = image_size, L = text_max_length; audio is resampled to audio_sample_rate and cut
or zero-padded to audio_clip_seconds, 25 ms windows every 10 ms.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

import numpy as np

from training_lib.data.decode import decode_text, read_audio

N_MELS = 40
N_FRAMES = 8


def image(data: bytes, size: int, max_pixels: int = 90_000_000) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as im:
        if im.width * im.height > max_pixels:
            raise ValueError(f"{im.width}x{im.height} pixels is over the {max_pixels} limit")
        im.load()
        return _rgb_square(ImageOps.exif_transpose(im), size)


def _rgb_square(im: Any, size: int, letterbox: bool = False) -> np.ndarray:
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    im = im.convert("RGB")
    if letterbox:  # keep a page's aspect ratio, pad with white
        scale = size / max(im.size)
        inner = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                          Image.BILINEAR)
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        canvas.paste(inner, ((size - inner.width) // 2, (size - inner.height) // 2))
        im = canvas
    elif im.size != (size, size):
        im = im.resize((size, size), Image.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def _mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    def hz_to_mel(f: np.ndarray | float) -> np.ndarray | float:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    filters = np.zeros((n_mels, bins.size), dtype=np.float32)
    for m in range(n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (bins - lo) / max(mid - lo, 1e-9)
        down = (hi - bins) / max(hi - mid, 1e-9)
        filters[m] = np.maximum(0.0, np.minimum(up, down))
    return filters


_FILTERS: dict[tuple[int, int], np.ndarray] = {}


def log_mel(samples: np.ndarray, sample_rate: int, n_mels: int = N_MELS) -> np.ndarray:
    win = int(round(0.025 * sample_rate))
    hop = int(round(0.010 * sample_rate))
    n_fft = 1 << (win - 1).bit_length()
    padded = np.pad(samples.astype(np.float32), (n_fft // 2, n_fft // 2), mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    window = np.zeros(n_fft, dtype=np.float32)
    window[(n_fft - win) // 2:(n_fft - win) // 2 + win] = np.hanning(win)
    spectrum = np.fft.rfft(padded[idx] * window, axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    key = (sample_rate, n_fft)
    if key not in _FILTERS:
        _FILTERS[key] = _mel_filters(sample_rate, n_fft, n_mels)
    # einsum, not BLAS: a multi-threaded BLAS spins badly when scan workers share 2 cores
    mel = np.einsum("fb,mb->fm", power, _FILTERS[key])
    return np.log(mel + 1e-6).T.astype(np.float32)  # (n_mels, frames)


def audio(data: bytes, fmt: str, sample_rate: int, clip_seconds: float) -> tuple[np.ndarray, float]:
    """(log-mel (N_MELS, frames), seconds of sound decoded)."""
    from scipy.signal import resample_poly

    samples, rate = read_audio(data, fmt)
    if samples.size == 0:
        raise ValueError("no audio samples")
    mono = samples.mean(axis=1)
    seconds = len(mono) / rate
    if rate != sample_rate:
        g = math.gcd(rate, sample_rate)
        mono = resample_poly(mono, sample_rate // g, rate // g).astype(np.float32)
    n = int(round(clip_seconds * sample_rate))
    mono = mono[:n] if len(mono) >= n else np.pad(mono, (0, n - len(mono)))
    return log_mel(mono, sample_rate), seconds


def token_ids(text: str, max_length: int) -> np.ndarray:
    raw = np.frombuffer(text.encode("utf-8")[:max_length], dtype=np.uint8).astype(np.int32) + 1
    out = np.zeros(max_length, dtype=np.int32)
    out[:raw.size] = raw
    return out


def text(data: bytes, encoding: str | None, max_length: int) -> np.ndarray:
    return token_ids(decode_text(data, encoding)[0], max_length)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def document_text(data: bytes, fmt: str, limit: int = 20_000) -> str:
    if fmt == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        try:
            parts: list[str] = []
            for i in range(len(pdf)):
                page = pdf[i]
                textpage = page.get_textpage()
                parts.append(textpage.get_text_range())
                textpage.close()
                page.close()
                if sum(len(p) for p in parts) >= limit:
                    break
            return "\n".join(parts)[:limit]
        finally:
            pdf.close()
    if fmt in ("docx", "pptx", "odt", "odp", "epub"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = sorted(n for n in zf.namelist() if re.fullmatch(
                r"word/document\.xml|ppt/slides/slide\d+\.xml|content\.xml|.*\.x?html?", n))
            parts = []
            for name in names:
                root = ElementTree.fromstring(zf.read(name))
                parts.append("\n".join("".join(t.text or "" for t in p.iter() if t.text)
                                       for p in root.iter() if p.tag.endswith("}p")))
            return "\n".join(parts)[:limit]
    if fmt == "rtf":
        raw = data.decode("latin-1")
        return re.sub(r"\\[a-z]+-?\d* ?|[{}]", "", raw)[:limit]
    raise ValueError(f"no text extractor for {fmt!r} documents")


def document(data: bytes, fmt: str, size: int) -> np.ndarray:
    """The first page as an image: PDFium renders PDFs; other documents have their text
    laid out on a white Letter page with Pillow's default font (no office renderer here)."""
    if fmt == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        try:
            page = pdf[0]
            width, height = page.get_size()
            bitmap = page.render(scale=max(4 * size / max(width, height, 1), 0.05))
            pil = bitmap.to_pil()
            page.close()
            return _rgb_square(pil, size, letterbox=True)
        finally:
            pdf.close()
    return _rgb_square(_text_page(document_text(data, fmt, 4000)), size, letterbox=True)


def _text_page(body: str) -> Any:
    from PIL import Image, ImageDraw

    page = Image.new("L", (612, 792), 255)
    draw = ImageDraw.Draw(page)
    y = 48
    for line in body.splitlines():
        while line and y < 760:
            draw.text((48, y), line[:95], fill=0)
            line = line[95:]
            y += 13
        y += 4
        if y >= 760:
            break
    return page


def video(data: bytes, size: int, n_frames: int = N_FRAMES, max_frames: int = 3000) -> np.ndarray:
    import av
    from PIL import Image

    small: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            small.append(np.asarray(frame.to_image().resize((size, size), Image.BILINEAR), dtype=np.uint8))
            if len(small) >= max_frames:
                break
    if not small:
        raise ValueError("no video frame decoded")
    picks = np.linspace(0, len(small) - 1, n_frames).round().astype(int)
    return np.stack([small[i] for i in picks])
