"""Which of a preset's dataset entries (`datasets:`) selects a catalog file.

Routing and labelling both ask it: routing to keep only selected files, labelling to
apply the entry's `labels:` declaration.
"""
from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Iterable

from training_lib.config.schema import DatasetSelector
from training_lib.data.records import FileRecord


def selected(record: FileRecord, selectors: Iterable[DatasetSelector]) -> bool:
    return selector_for(record, selectors) is not None


def selector_for(record: FileRecord,
                 selectors: Iterable[DatasetSelector]) -> DatasetSelector | None:
    """The first dataset entry that selects `record`, or None."""
    path = PurePosixPath(record.path)
    for sel in selectors:
        base = PurePosixPath(sel.path.strip("/") or ".")
        if str(base) != "." and base not in path.parents:
            continue
        rel = str(path if str(base) == "." else path.relative_to(base))
        if not any(_glob(rel, pattern) for pattern in sel.include):
            continue
        if any(_glob(rel, pattern) for pattern in sel.exclude):
            continue
        if sel.types is not None and record.type not in sel.types:
            continue
        return sel
    return None


def _glob(path: str, pattern: str) -> bool:
    # "**/*" must also match files at the top level
    return fnmatch.fnmatch(path, pattern) or (pattern.startswith("**/")
                                              and fnmatch.fnmatch(path, pattern[3:]))
