"""`scan_folder`: walk a data root, inspect new and changed files, update the catalog.

Unchanged files (same size and mtime as the catalog's current version) are not
read again. New and changed files are probed in worker processes with a per-file
time limit (see `probe_pool`). Duplicate flags are recomputed over the whole
folder on every scan, since a new file can make an old one a duplicate.

>>> from training_lib.data.catalog import default_catalog   # doctest: +SKIP
>>> report = scan_folder(Path("data/demo"), default_catalog())  # doctest: +SKIP
>>> report.new[:1], report.fingerprint[:12]                  # doctest: +SKIP
"""
from __future__ import annotations

import gc
import logging
import operator
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from training_lib.data import records as rec
from training_lib.data.catalog import Catalog, fingerprint
from training_lib.data.labels import DEFAULT_MIN_CLASS_FILES, LabelGroup, infer_labels
from training_lib.data.quality.duplicates import mark_duplicates
from training_lib.data.quality.limits import QualityLimits
from training_lib.data.quality.scores import score_of
from training_lib.data.records import FileRecord
from training_lib.data.scan import folder_state, probe_pool
from training_lib.data.scan.dirfd import FileRef
from training_lib.data.scan.meta_bounds import bound_meta
from training_lib.data.scan.roots import check_data_root
from training_lib.data.scan.walk import walk
from training_lib.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class ScanReport:
    root: Path
    records: list[FileRecord]  # every present file (hidden skipped), flagged ones included
    new: list[str]
    changed: list[str]
    deleted: list[str]
    unchanged: int
    fingerprint: str
    elapsed_s: float
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) not followed
    inspected: int = 0  # files read in this scan
    scan_id: int | None = None
    labels: list[LabelGroup] = field(default_factory=list)  # the label set of each folder


    def counts_by_type(self) -> dict[str, int]:
        return dict(Counter(r.type for r in self.records).most_common())

    def flag_counts(self) -> dict[str, int]:
        return dict(Counter(f for r in self.records for f in r.flags).most_common())

    def flagged(self) -> list[FileRecord]:
        return [r for r in self.records if r.flags]

    def json_lines(self) -> Iterable[dict[str, Any]]:
        """One dict per file for `scan --json`: path relative to the root, type, format,
        label, split, quality score, flags and the header facts."""
        for r in self.records:
            yield {"path": r.path, "type": r.type, "format": r.format, "label": r.label,
                   "split": r.split, "score": r.score, "flags": list(r.flags),
                   "size": r.size, "content_hash": r.content_hash, "meta": r.meta}


def _record(result: dict[str, Any]) -> FileRecord:
    flags = tuple(result["flags"])
    content_hash = result["content_hash"]
    return FileRecord(
        path=result["path"], size=result["size"], mtime_ns=result["mtime_ns"],
        content_hash=content_hash, type=result["type"], format=result["format"],
        label=None,  # set over the whole folder by `labels.infer_labels`
        split=rec.split_of(content_hash or result["path"]), score=score_of(flags),
        flags=flags, meta=bound_meta(result["meta"]))


def scan_folder(root: Path, catalog: Catalog, *, include: Iterable[str] = ("**/*",),
                exclude: Iterable[str] = (), skip_hidden: bool = True,
                progress: Callable[[int, int], None] | None = None,
                workers: int | None = None, min_class_files: int = DEFAULT_MIN_CLASS_FILES,
                **limits: Any) -> ScanReport:
    """Scan `root` incrementally against the catalog and store the result.

    Labels are inferred over the whole folder (`labels.infer_labels`, classes of at
    least `min_class_files` files); `ScanReport.labels` says which, folder by folder.

    `limits` override `QualityLimits` fields by name (time_limit_s, max_pixels, ...);
    an unknown name raises DataError. `workers` defaults to the usable CPUs (0 probes
    in this process, without the per-file time limit).
    """
    # A scan holds one record (and its meta dict) per file: with 10^5 live objects the
    # cyclic collector's full passes cost more than the rescan itself. Nothing here
    # makes reference cycles, so it is paused for the scan and restored after.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(root, catalog, include, exclude, skip_hidden, progress, workers, limits,
                     min_class_files)
    finally:
        if enabled:
            gc.enable()


def _scan(root: Path, catalog: Catalog, include: Iterable[str], exclude: Iterable[str],
          skip_hidden: bool, progress: Callable[[int, int], None] | None, workers: int | None,
          limits: dict[str, Any], min_class_files: int) -> ScanReport:
    started_ns = time.time_ns()
    started = started_ns / 1e9
    t0 = time.perf_counter()
    quality_limits = QualityLimits.from_kwargs(**limits)
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data root {str(root)!r} is not a folder")
    n_workers = probe_pool.cpu_workers(workers)
    include, exclude = tuple(include), tuple(exclude)
    params = folder_state.params_of(include, exclude, skip_hidden)
    root_real = check_data_root(root)
    stored = catalog.folder_state(root)
    state = folder_state.load(stored)
    if state is not None and folder_state.unchanged(root_real, state, params):
        # every folder and file as the last scan left them: no listing, no per-file lookup
        current = catalog.current(root)
        if current and len(current) == state["n_files"]:
            return _unchanged(root, catalog, {r.path: r for r in current}, [], started, t0,
                              min_class_files, stored)
    captured: folder_state.Captured = {}
    entries, skipped = walk(root, include, exclude, skip_hidden, folders=captured)
    complete = folder_state.complete(captured)
    previous = {r.path: r for r in catalog.current(root)}
    kept: list[FileRecord] = []
    todo: list[tuple[FileRef, str]] = []
    stats: dict[str, tuple[int, int]] = {}
    get, keep = previous.get, kept.append
    for rel, real, size, mtime_ns, dev, ino in entries:
        prev = get(rel)
        if prev is not None and prev.size == size and prev.mtime_ns == mtime_ns:
            keep(prev)
        else:
            todo.append((FileRef(root_real, real, dev, ino), rel))
            stats[rel] = (size, mtime_ns)
    total, done = len(entries), len(kept)
    if progress:
        progress(done, total)
    inspected: list[FileRecord] = []

    def on_result(result: dict[str, Any]) -> None:
        nonlocal done
        if not result["content_hash"] and result["path"] in stats:
            # unreadable or killed: remember the stat so the same version is not retried
            result["size"], result["mtime_ns"] = stats[result["path"]]
        inspected.append(_record(result))
        done += 1
        if progress:
            progress(done, total)

    if not todo and len(kept) == len(previous):
        deleted: list[str] = []  # every catalogued path was walked again: nothing is gone
    else:
        present = {e.rel for e in entries}
        deleted = sorted(p for p in previous if p not in present)
    if not todo and not deleted and previous:
        state_now = (folder_state.dump(root_real, captured, entries, None, params, started_ns)
                     if complete else None)
        if state_now is not None:  # the stored one was missing or stale: the next rescan's shortcut
            catalog.save_folder_state(root, state_now)
        return _unchanged(root, catalog, previous, skipped, started, t0, min_class_files,
                          state_now)
    probe_pool.run_probes(todo, quality_limits, workers=n_workers, on_result=on_result)
    new, changed = [], []
    for r in inspected:
        prev = previous.get(r.path)
        if prev is None:
            new.append(r.path)
        elif prev.content_hash != r.content_hash:
            changed.append(r.path)
    records = mark_duplicates(kept + inspected, quality_limits.near_duplicate_bits)
    labelling = infer_labels(records, min_class_files)
    records = labelling.apply(records)
    records.sort(key=lambda r: r.path)
    fp = fingerprint(records)
    state_now = (folder_state.dump(root_real, captured, entries,
                                   {r.path: (r.size, r.mtime_ns) for r in records}, params,
                                   started_ns) if complete else None)
    elapsed = time.perf_counter() - t0
    scan_id = catalog.record_scan(root, records, previous, deleted, started=started,
                                  elapsed_s=elapsed, n_new=len(new), n_changed=len(changed),
                                  fingerprint_=fp, folder_state=state_now)
    for rel, reason in skipped:
        log.info("skipped %s: %s", rel, reason)
    report = ScanReport(root=Path(os.path.realpath(root)), records=records, new=sorted(new),
                        changed=sorted(changed), deleted=deleted,
                        unchanged=len(records) - len(new) - len(changed), fingerprint=fp,
                        elapsed_s=time.perf_counter() - t0, skipped=skipped,
                        inspected=len(inspected), scan_id=scan_id, labels=labelling.groups)
    log.info("scanned %s: %d files (%d new, %d changed, %d deleted, %d read) in %.2f s",
             root, len(records), len(new), len(changed), len(deleted), len(inspected),
             report.elapsed_s)
    return report


def _unchanged(root: Path, catalog: Catalog, previous: dict[str, FileRecord],
               skipped: list[tuple[str, str]], started: float, t0: float,
               min_class_files: int, state: bytes | None) -> ScanReport:
    """Nothing was added, changed or deleted: the catalog's view stands as it is, unless
    the label rule (or min_class_files) labels some file otherwise."""
    labelling = infer_labels(previous.values(), min_class_files)
    records = labelling.apply(previous.values())
    relabelled = any(map(operator.is_not, records, previous.values()))
    fp = catalog.last_fingerprint(root) or fingerprint(records)
    scan_id = catalog.record_scan(root, records, previous, [], started=started,
                                  elapsed_s=time.perf_counter() - t0, n_new=0, n_changed=0,
                                  fingerprint_=fp, unchanged=not relabelled, folder_state=state)
    report = ScanReport(root=Path(os.path.realpath(root)), records=records, new=[], changed=[],
                        deleted=[], unchanged=len(records), fingerprint=fp,
                        elapsed_s=time.perf_counter() - t0, skipped=skipped, inspected=0,
                        scan_id=scan_id, labels=labelling.groups)
    log.info("scanned %s: %d files, none new, changed or deleted, in %.2f s", root,
             len(records), report.elapsed_s)
    return report
