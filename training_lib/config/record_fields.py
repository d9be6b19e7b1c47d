"""Record formats and their fields: the canonical names, and the names users give them.

A JSON record format ("arithmetic", "pairs", ...) has canonical fields. A user's
records may name them otherwise (`{"caption": ..., "digit": 7}` for `text`/`label`);
they are read through a mapping canonical field -> the record's key, chosen per
field: the preset's `models.<model>.fields`, else the canonical name, else the first
synonym of the table below the record has.

Plain data (read while presets are validated and while files are scanned): no
heavy imports. `data/records.py` detects formats with it, `data/loaders/fields.py`
reads records through it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class RecordFormat:
    """One JSON record format: its fields, which of them a record needs, their synonyms."""

    name: str
    fields: tuple[str, ...]  # canonical field names
    required: tuple[str, ...] = ()  # a record of this format has every one of these...
    some_of: tuple[str, ...] = ()  # ...and at least `min_some` of these
    min_some: int = 0
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def names_for(self, canonical: str,
                  explicit: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The keys that may hold `canonical`, in order of preference."""
        if explicit and canonical in explicit:
            return (explicit[canonical],)
        return (canonical, *self.synonyms.get(canonical, ()))

    def resolve(self, keys: Any, explicit: Mapping[str, str] | None = None,
                canonical_only: bool = False) -> dict[str, str] | None:
        """canonical field -> the key of `keys` (a record or its key names) holding it, or
        None when the record lacks a field the format needs."""
        mapping: dict[str, str] = {}
        for name in self.fields:
            names = (name,) if canonical_only else self.names_for(name, explicit)
            found = next((k for k in names if k in keys), None)
            if found is not None:
                mapping[name] = found
        if any(name not in mapping for name in self.required):
            return None
        if sum(name in mapping for name in self.some_of) < self.min_some:
            return None
        return mapping

    def needed(self) -> str:
        """The fields a record needs, for messages: "problem, answer"."""
        parts = list(self.required)
        if self.some_of:
            parts.append(f"{self.min_some} of {'/'.join(self.some_of)}")
        return ", ".join(parts)


# One table per record format: canonical field -> other names it goes by. Order is
# preference: a record holding two of them is read through the first.
FORMATS: dict[str, RecordFormat] = {fmt.name: fmt for fmt in (
    RecordFormat("arithmetic", ("problem", "answer"), ("problem", "answer"), synonyms={
        "problem": ("question", "expression", "expr", "equation", "input"),
        "answer": ("result", "solution", "output", "target"),
    }),
    RecordFormat("proposition", ("proposition", "answer"), ("proposition", "answer"), synonyms={
        "proposition": ("statement", "formula", "expr", "expression"),
        "answer": ("truth", "truth_value", "value", "result", "label", "target", "output"),
    }),
    RecordFormat("environment", ("state_before", "action", "state_after"),
                 ("state_before", "action", "state_after"), synonyms={
        "state_before": ("before", "state", "observation", "obs"),
        "action": ("act", "move", "control"),
        "state_after": ("after", "next_state", "next_observation", "next_obs"),
    }),
    RecordFormat("strategy", ("context", "strategy"), ("context", "strategy"), synonyms={
        "context": ("situation", "observation", "inputs"),
        "strategy": ("policy", "choice", "decision"),
    }),
    RecordFormat("features", ("features",), ("features",), synonyms={
        "features": ("feature_vector", "vector", "embedding"),
    }),
    # a multimodal sample: paths of an image, an audio clip and a caption (or the caption
    # itself), and a class; two of the three modalities make a pair
    RecordFormat("pairs", ("image", "audio", "text", "label"),
                 some_of=("image", "audio", "text"), min_some=2, synonyms={
        "image": ("img", "image_path", "image_file", "picture", "photo"),
        "audio": ("sound", "audio_path", "audio_file", "clip", "wav"),
        "text": ("caption", "sentence", "content", "description", "transcript"),
        "label": ("digit", "class", "category", "target", "y"),
    }),
)}


def plausible(fmt: str, record: Mapping[str, Any], mapping: Mapping[str, str]) -> bool:
    """Whether values read through synonyms fit the format (names alone are ambiguous:
    `{"expr": "True and p", "result": false}` is a proposition, not arithmetic)."""
    if fmt == "arithmetic":
        problem = record[mapping["problem"]]
        return isinstance(problem, str) and bool(_DIGIT.search(problem))
    return True


def formats_of(consumes: tuple[str, ...] | list[str]) -> list[RecordFormat]:
    """The record formats among a model's data kinds ("records:pairs", "image")."""
    return [FORMATS[k.split(":", 1)[1]] for k in consumes
            if k.startswith("records:") and k.split(":", 1)[1] in FORMATS]


def field_error(fields: Mapping[str, str], consumes: tuple[str, ...] | list[str],
                model: str) -> tuple[str, str, str] | None:
    """(canonical name, offending value, what was expected) of the first bad entry of a
    model's `fields:`, or None when they all name fields of its record formats."""
    formats = formats_of(consumes)
    known = [name for fmt in formats for name in fmt.fields]
    for name, key in fields.items():
        if name not in known:
            if not formats:
                return name, name, (f"no `fields:`: {model} reads no JSON records (it consumes "
                              f"{', '.join(consumes)})")
            described = "; ".join(f"{fmt.name}: {', '.join(fmt.fields)}" for fmt in formats)
            return name, name, f"a field of {model}'s record format ({described})"
        if not key.strip():
            return name, key, "the key a record holds this field under (not empty)"
    return None
