"""Decoder checks for images, audio and video: the whole file is decoded once.

Each `check_*` takes the file's bytes (or path), its sniffed type/format/meta and the
quality limits, and returns (meta, flags, type override or None). Decoder errors
become `truncated` or `corrupt`; nothing here raises for a bad file.
"""
from __future__ import annotations

import io
import logging
import math
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from training_lib.data.decode import read_audio
from training_lib.data.quality.scores import decode_failure

if TYPE_CHECKING:
    from training_lib.data.quality.limits import QualityLimits

log = logging.getLogger(__name__)

Result = tuple[dict[str, Any], list[str], str | None]

# our format name -> Pillow's format id (to tell "Pillow has no decoder" from "corrupt")
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
                "webp": "WEBP", "ico": "ICO", "psd": "PSD", "qoi": "QOI", "pnm": "PPM",
                "jp2": "JPEG2000", "avif": "AVIF", "heif": "HEIF", "jxl": "JXL", "svg": "SVG"}
def _pil_can_open(fmt: str) -> bool:
    from PIL import Image

    Image.init()
    pil = _PIL_FORMATS.get(fmt)
    return pil is not None and pil in Image.OPEN


def check_image(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    from PIL import Image

    if not _pil_can_open(fmt):
        return {}, ["unsupported_format"], None
    out: dict[str, Any] = {}
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > limits.max_pixels:
                return {"width": width, "height": height}, ["bomb"], None
            if probe.format == "PNG":
                probe.verify()  # chunk CRCs, which load() does not check
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            out.update(width=im.width, height=im.height, mode=im.mode,
                       n_frames=getattr(im, "n_frames", 1))
            gray = _gray(im)
    except Image.DecompressionBombError:
        return out, ["bomb"], None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as e:
        log.debug("image decode failed: %s", e)
        return out, [decode_failure(e)], None
    flags = []
    if min(out["width"], out["height"]) < limits.min_image_side:
        flags.append("tiny")
    lo, hi = np.percentile(gray, (1, 99))
    spread = float(gray.std())
    out["contrast"] = round(float(hi - lo), 1)
    if spread < limits.blank_std:
        flags.append("blank")
    elif hi - lo < limits.low_contrast_range:
        flags.append("low_contrast")
    out["phash"] = perceptual_hash(gray)
    out["phash_frames"] = frame_hashes(gray)
    return out, flags, None


def _gray(im: Any) -> np.ndarray:
    """Luminance of (at most) a 256-pixel-wide copy; transparency composited on white."""
    from PIL import Image

    frame = im
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    elif frame.mode not in ("L", "RGB"):
        frame = frame.convert("RGB")
    factor = max(1, max(frame.size) // 256)
    if factor > 1:
        frame = frame.reduce(factor)
    return np.asarray(frame.convert("L"), dtype=np.float32)


_DCT_CACHE: dict[int, np.ndarray] = {}


def _dct_matrix(n: int) -> np.ndarray:
    if n not in _DCT_CACHE:
        k = np.arange(n)[:, None]
        i = np.arange(n)[None, :]
        _DCT_CACHE[n] = np.cos(np.pi * (2 * i + 1) * k / (2 * n)).astype(np.float32)
    return _DCT_CACHE[n]


def perceptual_hash(gray: np.ndarray, size: int = 32, bits: int = 10,
                    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)) -> str:
    """DCT perceptual hash: the signs of the lowest `bits`x`bits` frequencies against their
    median, as hex (99 bits by default). Resistant to rescaling, re-encoding and small
    brightness changes; different pictures differ in about half the bits. `box` hashes
    a frame of the picture (left, top, right, bottom as fractions of its sides)."""
    from PIL import Image

    image = Image.fromarray(gray.astype(np.uint8))
    left, top, right, bottom = box
    w, h = image.size
    small = np.asarray(image.resize((size, size), Image.BILINEAR,
                                    box=(left * w, top * h, right * w, bottom * h)),
                       dtype=np.float32)
    d = _dct_matrix(size)
    freq = (d @ small @ d.T)[:bits, :bits].ravel()[1:]
    on = freq > np.median(freq)
    return np.packbits(np.concatenate([on, [False]])).tobytes().hex()


# frames a cropped copy may show: 97% of each side at nine offsets, and a 98.5% centre
_CROP_STEPS = (0.0, 0.015, 0.03)
CROP_FRAMES = tuple((x, y, x + 0.97, y + 0.97) for y in _CROP_STEPS for x in _CROP_STEPS) + (
    (0.0075, 0.0075, 0.9925, 0.9925),)


def frame_hashes(gray: np.ndarray) -> list[str]:
    """`perceptual_hash` of each of `CROP_FRAMES`: a copy cropped by up to ~3% hashes
    close to one of them (`quality.duplicates` compares a picture's full hash with
    the other's frames), where its full hash may be 15-25 bits away."""
    return [perceptual_hash(gray, box=box) for box in CROP_FRAMES]


def check_audio(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    if fmt == "midi":
        return {}, ["unsupported_format"], None
    try:
        samples, rate = read_audio(data, fmt)
    except Exception as e:  # noqa: BLE001 - every decoder error is a verdict on the file
        log.debug("audio decode failed: %s", e)
        return {}, [decode_failure(e)], None
    n, channels = samples.shape
    out: dict[str, Any] = {"sample_rate": rate, "channels": channels,
                           "duration_s": round(n / rate, 4) if rate else 0.0}
    flags: list[str] = []
    expected = meta.get("n_samples")
    if expected and n < expected * 0.99:
        flags.append("truncated")
    if n == 0:
        return out, flags or ["corrupt"], None
    peak = float(np.abs(samples).max())
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    out["peak_dbfs"] = round(20 * math.log10(peak), 1) if peak > 0 else -200.0
    out["rms_dbfs"] = round(20 * math.log10(rms), 1) if rms > 0 else -200.0
    if out["rms_dbfs"] < limits.silence_dbfs:
        flags.append("silent")
    else:
        at_rail = int(np.count_nonzero(np.abs(samples) >= limits.clip_level))
        if at_rail >= 8 and at_rail >= limits.clip_fraction * samples.size:
            flags.append("clipped")
    if out["duration_s"] < limits.min_audio_s:
        flags.append("too_short")
    return out, flags, None


def check_video(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    import av

    out: dict[str, Any] = {}
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                if container.streams.audio:
                    a_meta, a_flags, _ = check_audio(data, "m4a", {}, limits)
                    return a_meta, a_flags, "audio"
                return {}, ["corrupt"], None
            stream = container.streams.video[0]
            out.update(width=stream.codec_context.width, height=stream.codec_context.height,
                       codec=stream.codec_context.name)
            if stream.average_rate:
                out["fps"] = round(float(stream.average_rate), 3)
            if container.duration:
                out["duration_s"] = round(container.duration / 1_000_000, 3)
            out["has_audio"] = bool(container.streams.audio)
            frames = 0
            for _ in container.decode(stream):
                frames += 1
                if frames >= limits.max_video_frames:
                    break
            out["n_frames"] = frames
    except Exception as e:  # noqa: BLE001 - every decoder error is a verdict on the file
        log.debug("video decode failed: %s", e)
        return out, [decode_failure(e)], None
    if frames == 0:
        return out, ["corrupt"], None
    flags = []
    if out.get("width") and out.get("height") and out["width"] * out["height"] > limits.max_pixels:
        flags.append("bomb")
    return out, flags, None
