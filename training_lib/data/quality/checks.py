"""`assess`: the decoder check of one whole file, chosen by its type.

Which check judges a type is the file type registry's `FileType.check`
("module:function", imported on first use). Every check has one contract: it takes
the file's bytes, its sniffed format and header meta and the quality limits, and
returns (extra meta, flags, corrected type or None); it never raises for a bad file.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from training_lib.config.file_types import FILE_TYPES
from training_lib.data.quality.limits import QualityLimits

Check = Callable[[bytes, str, dict, QualityLimits], tuple[dict, list, "str | None"]]

_CHECKS: dict[str, Check | None] = {}


def check_for(type_: str) -> Check | None:
    """The registered check of a file type (None: the type has none)."""
    if type_ not in _CHECKS:
        spec = FILE_TYPES.get(type_)
        check = None
        if spec is not None and spec.check:
            module, _, name = spec.check.partition(":")
            check = getattr(importlib.import_module(module), name)
        _CHECKS[type_] = check
    return _CHECKS[type_]


def assess(data: bytes, type_: str, fmt: str, meta: dict[str, Any],
           limits: QualityLimits) -> tuple[dict[str, Any], list[str], str | None]:
    """Decode the whole file and judge it: (extra meta, flags, corrected type or None)."""
    check = check_for(type_)
    if check is None:
        return {}, [], None
    return check(data, fmt, meta, limits)
