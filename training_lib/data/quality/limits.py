"""The thresholds of the quality checks, overridable by name (`scan_folder(**limits)`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from training_lib.errors import DataError


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of the checks; `scan_folder(**limits)` overrides any of them by name."""

    max_pixels: int = 90_000_000
    max_unpacked_bytes: int = 1 << 30
    min_image_side: int = 16
    blank_std: float = 2.0
    low_contrast_range: float = 32.0
    min_audio_s: float = 0.2
    silence_dbfs: float = -60.0
    clip_level: float = 0.999
    clip_fraction: float = 0.001
    min_text_chars: int = 12
    max_video_frames: int = 3000
    near_duplicate_bits: int = 6  # of 99 perceptual-hash bits
    time_limit_s: float = 20.0
    max_read_bytes: int = 256 << 20  # bigger files are hashed in a stream and not decoded
    # JSON and tables: the most the loaders read (data.loaders.json_records.MAX_JSON_BYTES)
    max_record_bytes: int = 64 << 20

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "QualityLimits":
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in kwargs.items():
            if key not in known:
                raise DataError(f"unknown scan limit {key!r}={value!r}: expected one of "
                                f"{', '.join(sorted(known))}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise DataError(f"scan limit {key}={value!r}: expected a number >= 0")
        return cls(**kwargs)

    def size_cap(self, type_: str) -> int:
        """The largest file of `type_` a scan decodes and training may load; a bigger one
        is flagged `too_large`."""
        if type_ in ("json", "tabular"):
            return min(self.max_record_bytes, self.max_read_bytes)
        return self.max_read_bytes
