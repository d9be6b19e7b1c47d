"""The shared feature cache: each file version decoded once, stored as .npy, memory-mapped.

An entry is keyed by the file's content hash, the kind of array and the preprocessing
parameters that kind depends on, so every model, run and preset that needs the same
array shares one file; a renamed file hits the cache, an edited one misses. Entries
are written atomically (temporary file + rename), so concurrent builders never see a
half-written array. `build` fills the cache in parallel worker processes.

>>> cache = FeatureCache()                                            # doctest: +SKIP
>>> cache.build(Path("data/demo"), report.records, preset.preprocessing)  # doctest: +SKIP
>>> cache.get("image", Path("data/demo"), report.records[0], preset.preprocessing).shape  # doctest: +SKIP
(32, 32, 3)
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from training_lib import settings
from training_lib.config.file_types import FILE_TYPES
from training_lib.data.features.kinds import FEATURE_KINDS, feature_kind
from training_lib.data.records import FileRecord
from training_lib.data.rows import CacheEntry
from training_lib.errors import DataError

if TYPE_CHECKING:
    from training_lib.config.schema import Preprocessing

log = logging.getLogger(__name__)

class FeatureCache:
    """Arrays under `root/<kind>/<hash[:2]>/<hash>-<params>.npy` (default: the run store)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else settings.store_dir() / "features"
        self._made: set[Path] = set()  # folders known to exist (mkdir is a syscall per file)

    def path(self, kind: str, record: FileRecord, params: "Preprocessing") -> Path:
        h = record.content_hash
        return self.root / kind / h[:2] / f"{h}-{feature_kind(kind).param_key(params)}.npy"

    def get(self, kind: str, data_root: Path, record: FileRecord, params: "Preprocessing") -> np.ndarray:
        """The array for one file: memory-mapped on a hit, computed and stored on a miss.
        Raises DataError naming the file when it cannot be decoded or has changed."""
        path = self.path(kind, record, params)
        if path.is_file():
            try:
                return np.load(path, mmap_mode="r")
            except (OSError, ValueError) as e:  # a damaged entry is rebuilt, not trusted
                log.warning("feature cache entry %s unreadable (%s); rebuilding", path, e)
        array, _ = self._compute_and_store(kind, Path(data_root), record, params, path)
        return array

    def entry(self, kind: str, data_root: Path, record: FileRecord,
              params: "Preprocessing") -> CacheEntry:
        """The cache entry of one file, computed and stored first on a miss (the rows of a
        large split are read from these files batch by batch: `training_lib.data.rows`)."""
        self.get(kind, data_root, record, params)  # a damaged entry is rebuilt here
        return CacheEntry(self.path(kind, record, params))

    def _compute_and_store(self, kind: str, data_root: Path, record: FileRecord,
                           params: "Preprocessing", path: Path) -> tuple[np.ndarray, float]:
        source = data_root / record.path
        try:
            data = source.read_bytes()
        except OSError as e:
            raise DataError(f"{source}: cannot read for {kind} features ({e})") from e
        if hashlib.sha256(data).hexdigest() != record.content_hash:
            raise DataError(f"{source}: content changed since the scan (hash differs from the "
                            f"catalog); rescan the data root")
        try:
            array, seconds = feature_kind(kind).compute(data, record, params)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - any decoder error is this file's problem
            raise DataError(f"{source}: cannot decode as {kind} ({type(e).__name__}: {e})") from e
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        try:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(array))
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise DataError(f"cannot write feature cache entry {path}: {e}") from e
        array.setflags(write=False)  # same contract as the read-only memory map of a hit
        return array, seconds

    def build(self, data_root: Path, records: list[FileRecord], params: "Preprocessing", *,
              workers: int = 2, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Compute every missing entry for `records` in `workers` processes.

        Returns stats: per kind computed/cached/failed counts, seconds, images per second,
        audio seconds per second, and the failures as "path: reason" lines."""
        t0 = time.perf_counter()
        tasks, cached = [], {k: 0 for k in FEATURE_KINDS}
        for record in records:
            spec = FILE_TYPES.get(record.type)
            for kind in spec.features if spec is not None else ():
                if self.path(kind, record, params).is_file():
                    cached[kind] += 1
                else:
                    tasks.append((kind, record))
        computed = {k: 0 for k in FEATURE_KINDS}
        failed: list[str] = []
        media_seconds = 0.0
        total, done = len(tasks), 0
        if progress:
            progress(0, total)
        chunks = [tasks[i:i + 32] for i in range(0, len(tasks), 32)]
        run: Any
        if workers <= 1 or len(chunks) <= 1:
            results = (_build_chunk(self.root, str(data_root), chunk, params) for chunk in chunks)
            run = None
        else:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            run = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            results = run.map(_build_chunk, [self.root] * len(chunks), [str(data_root)] * len(chunks),
                              chunks, [params] * len(chunks))
        try:
            for chunk_result in results:
                for kind, error, seconds in chunk_result:
                    done += 1
                    if error:
                        failed.append(error)
                    else:
                        computed[kind] += 1
                        media_seconds += seconds if kind == "audio" else 0.0
                if progress:
                    progress(done, total)
        finally:
            if run is not None:
                run.shutdown()
        elapsed = time.perf_counter() - t0
        stats = {"computed": {k: v for k, v in computed.items() if v},
                 "cached": {k: v for k, v in cached.items() if v}, "failed": failed,
                 "seconds": round(elapsed, 3), "workers": workers,
                 "images_per_s": round(computed["image"] / elapsed, 1) if elapsed else 0.0,
                 "audio_seconds_per_s": round(media_seconds / elapsed, 1) if elapsed else 0.0}
        log.info("feature cache: %s computed, %s cached, %d failed in %.1f s", stats["computed"],
                 stats["cached"], len(failed), elapsed)
        return stats


def _build_chunk(root: Path, data_root: str, chunk: list[tuple[str, FileRecord]],
                 params: "Preprocessing") -> list[tuple[str, str | None, float]]:
    cache = FeatureCache(root)
    out = []
    for kind, record in chunk:
        try:
            _, seconds = cache._compute_and_store(kind, Path(data_root), record, params,
                                                  cache.path(kind, record, params))
            out.append((kind, None, seconds))
        except DataError as e:
            out.append((kind, f"{record.path} ({kind}): {e}", 0.0))
    return out
