"""The data folder of bench/scale.py: N files of real content, generated once and cached.

- images (88%): scikit-learn's handwritten digits (1,797 scans, 10 classes), each file
  one digit upscaled to `--image-px` (default 128) and given its own random affine
  transform (rotation, scale, shear, shift), ink and paper shades and Gaussian noise,
  saved as PNG in images/<digit>/;
- text (10%): two to four fortunes of one category of the fortune corpus
  (/usr/share/games/fortunes, `make demo-data` installs it) in text/<category>/;
- audio (2%): the demo folder's spoken digits (espeak-ng voices) with a random speed,
  gain and noise, as 16-bit WAV in audio/<word>/ (left out when data/demo is missing).

Every file is derived from (seed, index), so a folder is the same on every machine. The
folder is marked complete by `.scale-manifest.json`; a later run reuses it.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

VERSION = 1
SHARES = (("image", 0.88), ("text", 0.10), ("audio", 0.02))
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MANIFEST = ".scale-manifest.json"


def plan(n: int, with_audio: bool) -> list[str]:
    """The type of file `i`, interleaved so that any prefix has the same mix."""
    shares = [(t, s) for t, s in SHARES if with_audio or t != "audio"]
    total = sum(s for _, s in shares)
    counts = {t: int(round(n * s / total)) for t, s in shares}
    counts[shares[0][0]] += n - sum(counts.values())
    out, seen = [], {t: 0 for t in counts}
    for i in range(n):  # pick the type furthest behind its share
        t = min(counts, key=lambda k: (seen[k] + 1) / counts[k] if counts[k] else 2.0)
        seen[t] += 1
        out.append(t)
    return out


_STATE: dict[str, Any] = {}


def _init(demo: str | None, px: int, seed: int) -> None:
    from sklearn.datasets import load_digits

    from training_lib.demo import text as demo_text

    _STATE.update(px=px, seed=seed, digits=load_digits())
    _STATE["fortunes"] = {c: demo_text.fortunes(c, 10_000) for c in demo_text.CATEGORIES
                          if (demo_text.FORTUNES_DIR / c).is_file()}
    clips: dict[str, list[tuple[np.ndarray, int]]] = {}
    if demo:
        import soundfile

        for word in WORDS:
            for path in sorted((Path(demo) / "audio" / word).glob("*.*")):
                if path.name.startswith("zz_"):  # the demo's deliberately flawed files
                    continue
                try:
                    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
                except (RuntimeError, ValueError):
                    continue
                if samples.ndim == 1 and np.sqrt(np.mean(samples ** 2)) > 1e-3:
                    clips.setdefault(word, []).append((samples, rate))
    _STATE["clips"] = clips


def _image(i: int, rng: np.random.Generator) -> tuple[str, bytes]:
    from PIL import Image

    digits, px = _STATE["digits"], _STATE["px"]
    k = int(rng.integers(len(digits.images)))
    ink, paper = int(rng.integers(0, 70)), int(rng.integers(190, 256))
    gray = np.pad(paper - digits.images[k] / 16 * (paper - ink), 2, constant_values=paper)
    base = Image.fromarray(gray.astype(np.uint8), mode="L").resize((px, px), Image.BICUBIC)
    angle = np.deg2rad(rng.uniform(-15, 15))
    scale, shear = rng.uniform(0.8, 1.1), rng.uniform(-0.2, 0.2)
    shift = rng.uniform(-0.08, 0.08, 2) * px
    c, s = np.cos(angle), np.sin(angle)
    forward = np.array([[c * scale, -s * scale + shear], [s * scale, c * scale]])
    inverse = np.linalg.inv(forward)  # PIL maps output pixels back to input pixels
    centre = np.array([px / 2, px / 2])
    offset = centre - inverse @ (centre + shift)
    coeffs = (*inverse[0], offset[0], *inverse[1], offset[1])
    warped = base.transform((px, px), Image.AFFINE, coeffs, resample=Image.BICUBIC,
                            fillcolor=paper)
    noisy = np.asarray(warped, np.float32) + rng.normal(0, rng.uniform(2, 10), (px, px))
    out = Image.fromarray(noisy.clip(0, 255).astype(np.uint8), mode="L")
    import io

    buf = io.BytesIO()
    out.save(buf, "PNG", compress_level=3)
    return f"images/{int(digits.target[k])}/img_{i:06d}.png", buf.getvalue()


def _text(i: int, rng: np.random.Generator) -> tuple[str, bytes]:
    fortunes = _STATE["fortunes"]
    category = sorted(fortunes)[int(rng.integers(len(fortunes)))]
    items = fortunes[category]
    picked = rng.choice(len(items), size=int(rng.integers(2, 5)), replace=False)
    body = "\n\n".join(items[j] for j in picked) + "\n"
    return f"text/{category}/fortune_{i:06d}.txt", body.encode("utf-8")


def _audio(i: int, rng: np.random.Generator) -> tuple[str, bytes]:
    import io

    import soundfile

    word = WORDS[int(rng.integers(10))]
    samples, rate = _STATE["clips"][word][int(rng.integers(len(_STATE["clips"][word])))]
    speed = rng.uniform(0.85, 1.15)
    positions = np.arange(0, len(samples) - 1, speed)
    varied = np.interp(positions, np.arange(len(samples)), samples) * rng.uniform(0.4, 1.0)
    varied = varied + rng.normal(0, 10 ** (rng.uniform(-4, -2.5)), len(varied))
    buf = io.BytesIO()
    soundfile.write(buf, np.clip(varied, -1, 1).astype(np.float32), rate, format="WAV",
                    subtype="PCM_16")
    return f"audio/{word}/clip_{i:06d}.wav", buf.getvalue()


def _write_chunk(out: str, items: list[tuple[int, str]]) -> int:
    makers = {"image": _image, "text": _text, "audio": _audio}
    made: set[str] = set()
    for i, type_ in items:
        rel, data = makers[type_](i, np.random.default_rng([_STATE["seed"], i]))
        path = os.path.join(out, rel)
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(path, "wb") as fh:
            fh.write(data)
    return len(items)


def ensure_folder(out: Path, n: int, *, demo: Path | None, px: int = 128, seed: int = 0,
                  workers: int = 2) -> dict[str, Any]:
    """Generate `out` with `n` files unless a complete one with the same recipe is there."""
    with_audio = demo is not None and (demo / "audio").is_dir()
    recipe = {"version": VERSION, "files": n, "image_px": px, "seed": seed, "audio": with_audio}
    marker = out / MANIFEST
    if marker.is_file():
        saved = json.loads(marker.read_text())
        if saved.get("recipe") == recipe:
            return {**saved, "generated_now": False}
    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    types = plan(n, with_audio)
    items = list(enumerate(types))
    chunks = [items[i:i + 500] for i in range(0, n, 500)]
    start = time.perf_counter()
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                             initargs=(str(demo) if with_audio else None, px, seed)) as pool:
        done = 0
        for k in pool.map(_write_chunk, [str(out)] * len(chunks), chunks):
            done += k
            if done % 10_000 < 500:
                print(f"  generated {done}/{n} files", flush=True)
    counts = {t: types.count(t) for t in sorted(set(types))}
    saved = {"recipe": recipe, "counts": counts,
             "generate_s": round(time.perf_counter() - start, 1)}
    marker.write_text(json.dumps(saved))
    return {**saved, "generated_now": True}
