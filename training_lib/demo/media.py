"""Images, speech and video clips for the demo folder.

- images: scikit-learn's bundled 8x8 handwritten digits, upscaled to 32x32, dark ink
  on white, saved as PNG (two in three) and JPEG;
- audio: the digit words spoken by espeak-ng in several English voices, variants,
  speeds and pitches, as WAV (two in three) and FLAC;
- video: short H.264 MP4 clips (PyAV) of a digit drifting and zooming across frames.
"""
from __future__ import annotations

import hashlib
import io
import logging
import random
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
          "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = ("", "+f2", "+f4", "+m3", "+m7", "+klatt")
IMAGE_SIDE = 32


def digit_image(pixels: np.ndarray, side: int = IMAGE_SIDE) -> Any:
    """One 8x8 digit (values 0..16) as a side x side grayscale PIL image."""
    from PIL import Image

    gray = (255 - pixels * (255 / 16)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").resize((side, side), Image.BICUBIC)


def write_digits(out: Path, digits: Any) -> list[tuple[str, str, str]]:
    """images/<digit>/<n>.png|jpg; returns (relative path, format, label)."""
    written = []
    for i, (pixels, target) in enumerate(zip(digits.images, digits.target)):
        label = str(int(target))
        fmt = "jpeg" if i % 3 == 2 else "png"
        rel = f"images/{label}/digit_{i:04d}.{'jpg' if fmt == 'jpeg' else 'png'}"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        image = digit_image(pixels)
        if fmt == "jpeg":
            image.save(path, "JPEG", quality=92)
        else:
            image.save(path, "PNG")
        written.append((rel, fmt, label))
    return written


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def speak(word: str, voice: str, speed: int, pitch: int) -> bytes:
    """WAV bytes of espeak-ng saying `word`."""
    done = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch),
                           "--stdout", word], capture_output=True, timeout=30, check=True)
    return done.stdout


def speech_plan(per_word: int, rng: random.Random) -> list[tuple[str, str, int, int]]:
    configs = [(voice + variant, speed, pitch) for voice in VOICES for variant in VARIANTS
               for speed in (130, 175, 220) for pitch in (35, 50, 70)]
    plan = []
    for word in WORDS:  # a few spare configurations: some voices say a word identically
        for voice, speed, pitch in rng.sample(configs, per_word + per_word // 4 + 2):
            plan.append((word, voice, speed, pitch))
    return plan


def write_speech(out: Path, per_word: int, rng: random.Random,
                 workers: int = 4) -> list[tuple[str, str, str]]:
    """audio/<word>/<voice>_<speed>_<pitch>.wav|flac; returns (relative path, format, label)."""
    import soundfile

    plan = speech_plan(per_word, rng)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        clips = list(pool.map(lambda p: speak(*p), plan))
    written = []
    seen: set[bytes] = set()
    per: dict[str, int] = {}
    for (word, voice, speed, pitch), wav in zip(plan, clips):
        digest = hashlib.sha256(wav[44:]).digest()
        if digest in seen or per.get(word, 0) >= per_word:
            continue
        seen.add(digest)
        i = per[word] = per.get(word, 0) + 1
        stem = f"{voice.replace('+', '_')}_{speed}_{pitch}"
        folder = out / "audio" / word
        folder.mkdir(parents=True, exist_ok=True)
        wav = _fix_stream_header(wav)
        if i % 3 == 2:
            samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
            rel = f"audio/{word}/{stem}.flac"
            soundfile.write(out / rel, samples, rate, format="FLAC")
            written.append((rel, "flac", word))
        else:
            rel = f"audio/{word}/{stem}.wav"
            (out / rel).write_bytes(wav)
            written.append((rel, "wav", word))
    return written


def _fix_stream_header(wav: bytes) -> bytes:
    """espeak-ng writes to a pipe with unknown lengths (0x7fffffff); fill in the real ones."""
    data_at = wav.find(b"data")
    if not wav.startswith(b"RIFF") or data_at < 0:
        return wav
    body = len(wav) - data_at - 8
    return (b"RIFF" + (len(wav) - 8).to_bytes(4, "little") + wav[8:data_at + 4]
            + body.to_bytes(4, "little") + wav[data_at + 8:])


def write_clips(out: Path, digits: Any, per_digit: int, rng: random.Random,
                frames: int = 16, side: int = 64) -> list[tuple[str, str, str]]:
    """video/<digit>/clip_<n>.mp4: a digit drifting and zooming; (path, format, label)."""
    import av
    from PIL import Image

    by_label: dict[int, list[int]] = {}
    for i, target in enumerate(digits.target):
        by_label.setdefault(int(target), []).append(i)
    written = []
    for label, indices in sorted(by_label.items()):
        for k, index in enumerate(rng.sample(indices, per_digit)):
            base = digit_image(digits.images[index], 48)
            dx, dy, zoom = rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(-0.25, 0.25)
            rel = f"video/{label}/clip_{k:02d}.mp4"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            with av.open(str(out / rel), "w", format="mp4") as container:
                stream = container.add_stream("libx264", rate=8)
                stream.width = stream.height = side
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "crf": "23"}
                for f in range(frames):
                    t = f / (frames - 1)
                    size = int(48 * (1 + zoom * t))
                    canvas = Image.new("L", (side, side), 255)
                    canvas.paste(base.resize((size, size)),
                                 (int((side - size) / 2 + dx * t), int((side - size) / 2 + dy * t)))
                    frame = av.VideoFrame.from_image(canvas.convert("RGB"))
                    for packet in stream.encode(frame):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
            written.append((rel, "mp4", str(label)))
    return written
