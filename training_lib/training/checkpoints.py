"""Checkpoints that survive crashes: atomic, checksummed, with fallback and retention.

A checkpoint is two files in one folder:

    ckpt-00000120.npz    model variables and optimizer variables (numpy arrays)
    ckpt-00000120.json   training state + sha256 of the .npz (written last)

Both are written to a temporary name, fsynced and renamed, so a reader never sees
half a checkpoint; the .json is the commit marker. `latest()` returns the newest
checkpoint whose checksum verifies and falls back to older ones, logging why.
Retention keeps the last `keep_last` plus the best one on the monitored metric.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training_lib.errors import CheckpointError

log = logging.getLogger(__name__)
_NAME = re.compile(r"^ckpt-(\d{8})\.json$")


@dataclass
class Checkpoint:
    """What a checkpoint holds once loaded."""

    step: int  # global optimizer steps done
    state: dict[str, Any]  # epoch, step_in_epoch, seed, config, metric values, ...
    arrays: dict[str, np.ndarray] = field(repr=False)
    path: Path | None = None


def committed_steps(directory: Path) -> list[int]:
    """Steps of the committed checkpoints in `directory` (json present), newest first."""
    if not directory.is_dir():
        return []
    found = [int(m.group(1)) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found, reverse=True)


class CheckpointStore:
    """Writes, lists, verifies and prunes the checkpoints of one training run."""

    def __init__(self, directory: Path, *, keep_last: int = 3, keep_best: bool = True,
                 monitor: str = "val_loss", mode: str = "min", asynchronous: bool = True,
                 mirror: Any = None) -> None:
        self.directory = Path(directory)
        self.mirror = mirror  # a training.mirror.CheckpointMirror, or None
        self.keep_last = keep_last
        self.keep_best = keep_best
        self.monitor = monitor
        self.mode = mode
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ckpt") if asynchronous else None
        self._pending: Future | None = None
        self._lock = threading.Lock()

    # ---- writing -------------------------------------------------------------------------
    def save(self, step: int, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Save a checkpoint; with `asynchronous`, the disk work happens in the background.

        `arrays` must already be host copies (the caller snapshots the variables), so
        training may go on while they are written. An error of a background write is
        raised by the next `save()` or by `flush()`.
        """
        self.flush()
        if self._pool is None:
            self._write(step, state, arrays)
        else:
            self._pending = self._pool.submit(self._write, step, state, arrays)

    def flush(self) -> None:
        """Wait for the write in flight and raise its error, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def _write(self, step: int, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            stem = self.directory / f"ckpt-{step:08d}"
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            payload = buffer.getvalue()
            meta = {"step": step, "state": state, "sha256": hashlib.sha256(payload).hexdigest(),
                    "bytes": len(payload)}
            try:
                _atomic_write(stem.with_suffix(".npz"), payload)
                _atomic_write(stem.with_suffix(".json"),
                              json.dumps(meta, sort_keys=True, default=_jsonable).encode())
            except OSError as e:
                for suffix in (".npz", ".json"):
                    stem.with_suffix(suffix).unlink(missing_ok=True)
                raise CheckpointError(
                    f"could not write checkpoint {stem.name} in {self.directory}: {e.strerror or e}"
                    f" ({len(payload)} bytes needed); the previous checkpoints are intact") from e
            self._prune()
            if self.mirror is not None:
                self.mirror.push(self.directory)

    # ---- reading -------------------------------------------------------------------------
    def steps(self) -> list[int]:
        """Steps of the committed checkpoints (json present), newest first."""
        return committed_steps(self.directory)

    def load(self, step: int) -> Checkpoint:
        """Load one checkpoint, verifying its checksum; CheckpointError when it is damaged."""
        stem = self.directory / f"ckpt-{step:08d}"
        try:
            meta = json.loads(stem.with_suffix(".json").read_bytes())
            payload = stem.with_suffix(".npz").read_bytes()
        except (OSError, ValueError) as e:
            raise CheckpointError(f"checkpoint {stem} is unreadable: {e}") from e
        digest = hashlib.sha256(payload).hexdigest()
        if digest != meta.get("sha256"):
            raise CheckpointError(f"checkpoint {stem}.npz fails its checksum "
                                  f"(expected {meta.get('sha256')}, got {digest})")
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as e:
            raise CheckpointError(f"checkpoint {stem}.npz cannot be decoded: {e}") from e
        return Checkpoint(meta["step"], meta["state"], arrays, stem.with_suffix(".npz"))

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint that verifies; older ones are tried when it does not."""
        self.flush()
        for step in self.steps():
            try:
                return self.load(step)
            except CheckpointError as e:
                log.warning("skipping damaged checkpoint, falling back to an older one: %s", e)
        return None

    def latest_good(self, before_step: int) -> Checkpoint | None:
        """The newest verified checkpoint written before `before_step` whose recorded
        metrics are all finite (for rolling back past a divergence or a NaN)."""
        self.flush()
        for step in self.steps():
            if step >= before_step:
                continue
            try:
                checkpoint = self.load(step)
            except CheckpointError as e:
                log.warning("skipping damaged checkpoint: %s", e)
                continue
            values = [v for v in (checkpoint.state.get("metrics") or {}).values()
                      if isinstance(v, (int, float))]
            arrays_finite = all(np.isfinite(a).all() for a in checkpoint.arrays.values()
                                if a.dtype.kind == "f")
            if all(v == v and abs(v) != float("inf") for v in values) and arrays_finite:
                return checkpoint
        return None

    # ---- retention -----------------------------------------------------------------------
    def _prune(self) -> None:
        steps = self.steps()
        keep = set(steps[: self.keep_last])
        if self.keep_best:
            best = self._best_step(steps)
            if best is not None:
                keep.add(best)
        for step in steps:
            if step not in keep:
                stem = self.directory / f"ckpt-{step:08d}"
                stem.with_suffix(".json").unlink(missing_ok=True)  # uncommit first
                stem.with_suffix(".npz").unlink(missing_ok=True)

    def _best_step(self, steps: list[int]) -> int | None:
        best: tuple[float, int] | None = None
        for step in steps:
            try:
                meta = json.loads((self.directory / f"ckpt-{step:08d}.json").read_bytes())
            except (OSError, ValueError):
                continue
            value = (meta.get("state") or {}).get("metrics", {}).get(self.monitor)
            if not isinstance(value, (int, float)) or value != value:  # missing or NaN
                continue
            score = value if self.mode == "min" else -value
            if best is None or score < best[0]:
                best = (score, step)
        return best[1] if best else None

    def best(self) -> Checkpoint | None:
        step = self._best_step(self.steps())
        return self.load(step) if step is not None else None


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
