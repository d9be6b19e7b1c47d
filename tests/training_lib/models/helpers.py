"""Small real fixture files, file records and load requests for the loader tests."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from training_lib.config.schema import PresetModel
from training_lib.data.features import FeatureCache
from training_lib.data.loaders import LoadRequest
from training_lib.data.records import FileRecord


def settings(**overrides: Any) -> PresetModel:
    base: dict[str, Any] = {"description": "loader test", "target_models": ("vision_service",),
                            "epochs": 1, "test_split": 0.25, "validation_split": 0.15}
    return PresetModel(**{**base, **overrides})


def record(root: Path, rel: str, type_: str, fmt: str, label: str | None = None,
           **meta: Any) -> FileRecord:
    data = (root / rel).read_bytes()
    return FileRecord(path=rel, size=len(data), mtime_ns=0,
                      content_hash=hashlib.sha256(data).hexdigest(), type=type_, format=fmt,
                      label=label, meta=meta)


def request(model: str, root: Path, records: list[FileRecord], cache_dir: Path,
            options: dict[str, Any] | None = None, **overrides: Any) -> LoadRequest:
    return LoadRequest(model, records, root, settings(**overrides), options or {},
                       _cache=FeatureCache(cache_dir))


def write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def write_tone(root: Path, rel: str, freq: float, seconds: float = 0.4, rate: int = 16000,
               phase: float = 0.0) -> Path:
    """A WAV tone: the shape of a clip, for tests of shapes only (not speech)."""
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, rate, format="WAV", subtype="PCM_16")
    return path


def write_digit(root: Path, rel: str, index: int) -> Path:
    """One of scikit-learn's handwritten digits as a 32x32 PNG; returns its path."""
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = load_digits().images[index]
    gray = (255 - pixels * (255 / 16)).clip(0, 255).astype(np.uint8)
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gray, mode="L").resize((32, 32)).save(path, "PNG")
    return path


def digit_label(index: int) -> int:
    from sklearn.datasets import load_digits

    return int(load_digits().target[index])
