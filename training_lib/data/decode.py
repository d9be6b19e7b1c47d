"""Decoders the quality checks and the feature cache share: audio samples and text.

A file is decoded the same way when it is judged (`quality.verify_*`) and when its
features are computed (`features.preprocess`), so what passed the check is what a
model reads.
"""
from __future__ import annotations

import io

import numpy as np


def decode_text(data: bytes, encoding: str | None) -> tuple[str, int]:
    """(text, number of undecodable bytes) in the sniffed encoding (UTF-8 when unknown)."""
    name = encoding or "utf-8"
    if name == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        name = "utf-8-sig"
    text = data.decode(name, "replace")
    if name.startswith(("utf-16", "utf-32")):
        text = text.lstrip("\ufeff")
    return text, text.count("\ufffd")


def read_audio(data: bytes, fmt: str) -> tuple[np.ndarray, int]:
    """(samples float32 (n, channels), sample rate): libsndfile first, FFmpeg (PyAV) for
    what it cannot read (AAC/M4A, WAV holding MP3 or ADPCM, some Opus)."""
    if fmt in ("wav", "flac", "ogg", "opus", "mp3", "aiff", "au"):
        import soundfile

        try:
            samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
            return samples, int(rate)
        except (soundfile.LibsndfileError, RuntimeError) as first:
            try:
                return _read_with_av(data)
            except Exception:  # noqa: BLE001 - report libsndfile's reason, the primary decoder
                raise first from None
    return _read_with_av(data)


def _read_with_av(data: bytes) -> tuple[np.ndarray, int]:
    import av

    chunks, rate = [], 0
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            if array.dtype.kind == "i":
                array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
            if frame.format.is_planar:
                array = array.T
            else:
                array = array.reshape(-1, len(frame.layout.channels))
            chunks.append(array.astype(np.float32))
            rate = frame.sample_rate
    if not chunks:
        raise EOFError("no audio frame decoded")
    return np.concatenate(chunks), rate
