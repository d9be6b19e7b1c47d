"""Feature kinds: the arrays the feature cache stores, each registered with its decoder.

A kind names one array shape a model eats ("image": uint8 (S, S, 3)). It is registered
once with `register_feature_kind`: its cache key (the preprocessing parameters the
array depends on) and how it is computed from a file's bytes. A file type lists the
kinds built for it (`config.file_types.FileType.features`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from training_lib.data.features import preprocess
from training_lib.data.records import FileRecord
from training_lib.errors import DataError

if TYPE_CHECKING:
    from training_lib.config.schema import Preprocessing

# (file bytes, its record, preprocessing) -> (array, seconds of audio/video content)
Compute = Callable[[bytes, FileRecord, "Preprocessing"], tuple[np.ndarray, float]]


@dataclass(frozen=True)
class FeatureKind:
    name: str
    param_key: Callable[["Preprocessing"], str]  # part of the cache file name
    compute: Compute


FEATURE_KINDS: dict[str, FeatureKind] = {}


def register_feature_kind(name: str, param_key: Callable[["Preprocessing"], str]
                          ) -> Callable[[Compute], Compute]:
    """Decorator: `compute` builds the arrays of kind `name`, cached under `param_key`."""
    def register(compute: Compute) -> Compute:
        if name in FEATURE_KINDS:
            raise ValueError(f"feature kind {name!r} is already registered")
        FEATURE_KINDS[name] = FeatureKind(name, param_key, compute)
        return compute
    return register


def feature_kind(name: str) -> FeatureKind:
    try:
        return FEATURE_KINDS[name]
    except KeyError:
        raise DataError(f"unknown feature kind {name!r}: expected one of "
                        f"{', '.join(FEATURE_KINDS)}") from None


def _image_key(params: "Preprocessing") -> str:
    return f"s{params.image_size}"


def _text_key(params: "Preprocessing") -> str:
    return f"l{params.text_max_length}"


@register_feature_kind("image", _image_key)
def _image(data: bytes, record: FileRecord, params: "Preprocessing") -> tuple[np.ndarray, float]:
    return preprocess.image(data, params.image_size), 0.0


@register_feature_kind("audio", lambda p: (f"sr{p.audio_sample_rate}-c{p.audio_clip_seconds:g}"
                                           f"-m{preprocess.N_MELS}"))
def _audio(data: bytes, record: FileRecord, params: "Preprocessing") -> tuple[np.ndarray, float]:
    return preprocess.audio(data, record.format, params.audio_sample_rate,
                            params.audio_clip_seconds)


@register_feature_kind("text", _text_key)
def _text(data: bytes, record: FileRecord, params: "Preprocessing") -> tuple[np.ndarray, float]:
    return preprocess.text(data, record.meta.get("encoding"), params.text_max_length), 0.0


@register_feature_kind("document", _image_key)
def _document(data: bytes, record: FileRecord, params: "Preprocessing") -> tuple[np.ndarray, float]:
    return preprocess.document(data, record.format, params.image_size), 0.0


@register_feature_kind("document_text", _text_key)
def _document_text(data: bytes, record: FileRecord,
                   params: "Preprocessing") -> tuple[np.ndarray, float]:
    text = preprocess.document_text(data, record.format)
    return preprocess.token_ids(text, params.text_max_length), 0.0


@register_feature_kind("video", lambda p: f"s{p.image_size}-f{preprocess.N_FRAMES}")
def _video(data: bytes, record: FileRecord, params: "Preprocessing") -> tuple[np.ndarray, float]:
    return preprocess.video(data, params.image_size), float(record.meta.get("duration_s") or 0.0)
