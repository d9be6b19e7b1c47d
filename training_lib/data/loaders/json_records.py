"""JSON records of a model's files: read defensively, in the user's field names,
deduplicated, split per record.

A record is read through a mapping canonical field -> its key in the record (the
preset's `models.<model>.fields`, else the canonical name or a synonym of
`config.record_fields`) and handed on in canonical keys; the mapping used and the
lines that are not JSON go to `Dataset.info` (`RecordsRead.info()`).
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from training_lib.config.record_fields import FORMATS, RecordFormat
from training_lib.data.decode import read_text
from training_lib.data.loaders.registry import LoadRequest
from training_lib.data.loaders.splits import split_fractions
from training_lib.data.records import canonical_key, record_format, shown, split_of
from training_lib.errors import DataError, NoDataForModel

log = logging.getLogger(__name__)
MAX_JSON_BYTES = 64 * 1024 * 1024  # also the size limit of a table a loader reads
MAX_KEYS_SHOWN = 12


def iter_records(path: Path, bad_lines: list[int] | None = None,
                 encoding: str | None = None) -> Iterator[Any]:
    """Records of a .json (list, or {"records": [...]}) or .jsonl file, read defensively.

    The text is decoded as the scan judged it (`decode.read_text` in the encoding the
    catalog records: UTF-16, cp1252, a BOM; UTF-8 when None). A JSONL line that is not
    JSON is skipped and logged with its number (1-based), which also goes to
    `bad_lines`; the other lines are kept.
    """
    if path.stat().st_size > MAX_JSON_BYTES:
        raise DataError(f"{path}: larger than {MAX_JSON_BYTES} bytes, not loaded")
    text = read_text(path, encoding)
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if stripped.startswith("["):  # one document, not lines: nothing to salvage
                raise DataError(f"{path}: not JSON (line {e.lineno}: {e.msg})") from e
            data = None
        if data is not None:
            if isinstance(data, dict):
                data = data.get("records", [data])
            yield from (data if isinstance(data, list) else [])
            return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                log.warning("%s: line %d is not JSON (%s); the other lines are kept",
                            shown(str(path)), number, e.msg)
                if bad_lines is not None:
                    bad_lines.append(number)


@dataclass
class RecordsRead:
    """What `read_records` found: the records of one format, and how they were read."""

    fmt: RecordFormat
    explicit: dict[str, str]  # the preset's `fields:` for the model
    items: list[tuple[str, dict]] = field(default_factory=list)  # (split, canonical record)
    sources: dict[str, Counter] = field(default_factory=dict)  # field -> its keys, counted
    bad_lines: dict[str, list[int]] = field(default_factory=dict)  # file -> line numbers
    keys_found: dict[str, set[str]] = field(default_factory=dict)  # file -> keys of records
    other_format: set[str] = field(default_factory=set)  # files with another format's records

    def used(self, canonical: dict) -> None:
        for name, key in canonical.items():
            self.sources.setdefault(name, Counter())[key] += 1

    def fields(self) -> dict[str, str]:
        """canonical field -> the key it was read from ("caption"; "caption, text" when
        records of the files differ, the most used first)."""
        return {name: ", ".join(k for k, _ in keys.most_common())
                for name, keys in self.sources.items()}

    def info(self) -> dict[str, Any]:
        """Entries for `Dataset.info`: the field mapping used, lines that were not JSON."""
        out: dict[str, Any] = {"fields": self.fields()}
        if self.bad_lines:
            out["bad_lines"] = self.bad_lines
        return out

    def no_match(self, model: str, what: str, needs: tuple[str, ...] = ()) -> NoDataForModel:
        """The error of a model whose files hold no usable record: each JSON file with the
        keys it has and the fields expected, and the `fields:` line that would read it."""
        keys = {path: keys for path, keys in self.keys_found.items()
                if path not in self.other_format}
        return NoDataForModel(no_match_message(model, what, self.fmt, keys, self.explicit, needs))


def read_records(req: LoadRequest, fmt: str,
                 normalise: Callable[[dict], dict] | None = None) -> RecordsRead:
    """The records of format `fmt` in the model's files, in canonical keys (`normalise`
    then evens out their values); a record in two files counts once (its sample key is
    `records.canonical_key` of the canonical, normalised record)."""
    explicit = dict(req.options.get("fields") or req.settings.fields_for(req.model))
    found = RecordsRead(FORMATS[fmt], explicit)
    seen: set[str] = set()
    for rec in req.records:
        if rec.type != "json":
            continue
        bad: list[int] = []
        keys = found.keys_found.setdefault(rec.path, set())
        try:
            for item in iter_records(req.data_root / rec.path, bad, rec.meta.get("encoding")):
                if isinstance(item, dict) and len(keys) < 200:
                    keys.update(str(k) for k in item)
                mapping = _mapping(found.fmt, item, explicit)
                if mapping is None:
                    if record_format(item) is not None:  # another model's records
                        found.other_format.add(rec.path)
                    continue
                record = {k: v for k, v in item.items() if k not in mapping.values()}
                record.update({name: item[key] for name, key in mapping.items()})
                record = normalise(record) if normalise else record
                key = canonical_key(record)
                if key in seen:
                    continue
                seen.add(key)
                found.used(mapping)
                found.items.append((split_of(key, split_fractions(req.settings)), record))
        except (OSError, UnicodeDecodeError, DataError) as e:
            log.warning("skipping %s: %s", rec.path, e)
        if bad:
            found.bad_lines[rec.path] = bad
    cap = req.settings.max_samples_per_model
    found.items = found.items[:cap] if cap else found.items
    if found.items:
        log.info("%s: %s records read with fields %s", req.model, fmt, found.fields())
    return found


def records_of(req: LoadRequest, fmt: str) -> list[tuple[str, dict]]:
    """(split, record in canonical keys) for every record of format `fmt` in the model's
    files (`read_records` without its report)."""
    return read_records(req, fmt).items


def _mapping(fmt: RecordFormat, item: Any, explicit: dict[str, str]) -> dict[str, str] | None:
    """canonical -> key for a record of `fmt`. Without `fields:`, only a record the
    scanner would also call `fmt` (so a file's records are read as it was routed); with
    them, any record that has the fields (the user said which key holds what)."""
    if not isinstance(item, dict):
        return None
    if not explicit and record_format(item) != fmt.name:
        return None
    return fmt.resolve(item, explicit)


def no_match_message(model: str, what: str, fmt: RecordFormat, keys_found: dict[str, set[str]],
                     explicit: dict[str, str], needs: tuple[str, ...] = ()) -> str:
    """Why `model` has no `what`, file by file, with the `fields:` line to add."""
    wanted = [*fmt.required, *[n for n in needs if n not in fmt.required]]
    if fmt.some_of:
        wanted += [n for n in fmt.some_of if n not in wanted]
    expected = "; ".join(f"{name} (as {' or '.join(fmt.names_for(name, explicit))})"
                         for name in wanted)
    rule = f"needs {fmt.needed()}" + (f" and {', '.join(needs)}" if needs else "")
    files = {path: keys for path, keys in keys_found.items() if keys}
    if not files:
        return (f"{model}: no {what}: none of its files is a JSON file of {fmt.name} records "
                f"({rule}); a file whose keys match no record format is flagged "
                "no_record_format by the scan: name its keys in the preset with "
                f"`models: {{{model}: {{fields: {{{wanted[0]}: <key>, ...}}}}}}`")
    lines = [f"{model}: no {what} ({rule}) in {len(files)} JSON file(s):"]
    suggestion: dict[str, list[str]] = {}
    for path, keys in sorted(files.items()):
        mapping = fmt.resolve(keys, explicit) or {}
        missing = [n for n in wanted if n not in mapping and (
            n not in fmt.some_of or n in needs
            or sum(m in mapping for m in fmt.some_of) < fmt.min_some)]
        spare = sorted(keys - set(mapping.values()))
        lines.append(f"  {shown(path)}: keys found: {_listed(sorted(keys))}; expected: {expected}"
                     + (f"; missing: {', '.join(missing)}" if missing else ""))
        for name in missing:
            suggestion.setdefault(name, [])
            suggestion[name] += [k for k in spare if k not in suggestion[name]]
    pairs = [f"{name}: {keys[0] if len(keys) == 1 else f'<one of {_listed(keys)}>'}"
             for name, keys in suggestion.items() if keys]
    if pairs:
        fields = ", ".join([*(f"{k}: {v}" for k, v in explicit.items()
                              if k not in suggestion), *pairs])
        lines.append(f"  to read them, add to the preset: models: {{{model}: "
                     f"{{fields: {{{fields}}}}}}}")
    return "\n".join(lines)


def _listed(keys: list[str]) -> str:
    more = len(keys) - MAX_KEYS_SHOWN
    return ", ".join(keys[:MAX_KEYS_SHOWN]) + (f", ... ({more} more)" if more > 0 else "")
