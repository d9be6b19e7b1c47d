"""Loading preset YAML files into validated, frozen `Preset` objects.

A preset is `presets/<name>.yaml`. `presets/_defaults.yaml` is merged under every
preset, and a preset may name another with `extends:`; the nearest value wins
(preset > extended preset > defaults), dictionaries merge key by key.

    >>> from training_lib.config import load_preset
    >>> preset = load_preset("quick_start")          # doctest: +SKIP
    >>> preset.settings.epochs                       # doctest: +SKIP
"""
from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from training_lib import settings
from training_lib.config.safe_yaml import load_yaml
from training_lib.config.schema import PresetModel, KeyedValueError
from training_lib.errors import PresetError
from training_lib.config import model_specs

DEFAULTS_FILE = "_defaults.yaml"
# Keys presets may no longer set: key path -> what to write instead (given the value).
RETIRED_KEYS: dict[tuple[str, ...], str] = {
    ("checkpoint", "every_steps"): "this key was removed (the checkpoint interval has one "
                                   "key); write 'checkpoint_interval: {value}' at the top "
                                   "level of the preset instead",
}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MAX_BYTES = 1_000_000
_MAX_ERRORS = 20  # lines of one PresetError; a bomb must not make a 30 MB message
_MAX_SHOWN = 200  # characters of a value quoted in a message


@dataclass(frozen=True)
class Preset:
    """A validated preset: its name, source file and typed settings."""

    name: str
    path: Path
    settings: PresetModel

    @property
    def models(self) -> list[str]:
        """Target models with groups expanded; empty for `auto` (routing decides)."""
        targets = self.settings.target_models
        return [] if targets == "auto" else model_specs.expand(list(targets))

    def resolved(self) -> dict[str, Any]:
        """The fully merged configuration as plain JSON-able data."""
        return {"name": self.name, **self.settings.model_dump(mode="json")}

    def with_overrides(self, **overrides: Any) -> "Preset":
        """A copy with some keys replaced (trigger-form params), validated again."""
        data = self.settings.model_dump(mode="python")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return Preset(self.name, self.path, validate_settings(as_tuples(data), self.path))


def list_presets(directory: Path | None = None) -> list[str]:
    directory = directory or settings.presets_dir()
    return sorted(p.stem for p in directory.glob("*.yaml") if not p.name.startswith("_"))


def load_preset(name_or_path: str | Path, directory: Path | None = None) -> Preset:
    """Load, merge and validate one preset, by name or by file path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = (directory or settings.presets_dir()) / f"{name_or_path}.yaml"
    name = path.stem
    if not _NAME.match(name):
        raise PresetError(f"{path}: preset name {name!r} must be letters, digits and _ "
                          "(it becomes the DAG id)")
    data = _merged(path, seen=())
    return Preset(name, path, validate_settings(as_tuples(data), path))


def load_all(directory: Path | None = None) -> tuple[dict[str, Preset], dict[str, PresetError]]:
    """Every preset of a folder: the valid ones and the errors of the broken ones."""
    good: dict[str, Preset] = {}
    bad: dict[str, PresetError] = {}
    for name in list_presets(directory):
        try:
            good[name] = load_preset(name, directory)
        except PresetError as e:
            bad[name] = e
    return good, bad


def _read_yaml(path: Path) -> dict[str, Any]:
    """The mapping of one YAML file, parsed once per version of the file.

    A DAG processor parses every DAG file of the folder in one long-lived process, and
    each preset merges `_defaults.yaml` (and maybe an `extends:` parent) under itself:
    at 1,000 presets that was 1,000 reads of the same defaults per parse. The parsed
    mapping is kept per (path, device, inode, size, mtime): an edited or replaced file
    has another key and is read again. Callers get a deep copy (they pop and merge).
    """
    try:
        stat = path.stat()
    except FileNotFoundError as e:
        raise PresetError(f"{path}: no such preset file{_did_you_mean(path)}") from e
    except OSError as e:
        raise PresetError(f"{path}: cannot read preset ({e})") from e
    if stat.st_size > _MAX_BYTES:
        raise PresetError(f"{path}: file is larger than {_MAX_BYTES} bytes; not a preset")
    key = (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return copy.deepcopy(_parse_file(key))


def _did_you_mean(path: Path) -> str:
    """"; did you mean 'quick_start'?" for a mistyped preset name, else where to look."""
    try:
        names = list_presets(path.parent)
    except OSError:
        return ""
    close = difflib.get_close_matches(path.stem, names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return "; `python -m training_lib presets` lists the presets" if names else ""


@functools.lru_cache(maxsize=4096)  # bounded: old versions of edited files fall out
def _parse_file(key: tuple[str, int, int, int, int]) -> dict[str, Any]:
    path = Path(key[0])
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_BYTES + 1)  # bounded: the file may grow after the stat
        text = raw.decode("utf-8")
    except FileNotFoundError as e:
        raise PresetError(f"{path}: no such preset file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise PresetError(f"{path}: cannot read preset ({e})") from e
    if len(raw) > _MAX_BYTES:
        raise PresetError(f"{path}: file is larger than {_MAX_BYTES} bytes; not a preset")
    try:
        data = load_yaml(text)  # safe, bounded in depth and aliases, no duplicate keys
    except yaml.YAMLError as e:
        raise PresetError(f"{path}: invalid YAML: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PresetError(f"{path}: top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _merged(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if path in seen:
        chain = " -> ".join(p.stem for p in (*seen, path))
        raise PresetError(f"{path}: key 'extends': cycle {chain}")
    data = _read_yaml(path)
    parent_name = data.pop("extends", None)
    if parent_name is not None:
        if not isinstance(parent_name, str) or not _NAME.match(parent_name):
            raise PresetError(f"{path}: key 'extends': got {parent_name!r}; expected a preset name")
        parent_path = path.parent / f"{parent_name}.yaml"
        if not parent_path.exists():
            raise PresetError(f"{path}: key 'extends': got {parent_name!r}; expected one of "
                              f"{', '.join(list_presets(path.parent))}")
        base = _merged(parent_path, (*seen, path))
    else:
        defaults = path.parent / DEFAULTS_FILE
        base = _read_yaml(defaults) if defaults.exists() and path.name != DEFAULTS_FILE else {}
    return deep_merge(base, data)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Merge `top` over `base`; nested mappings merge, everything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def as_tuples(value: Any) -> Any:
    """YAML lists become tuples so that the strict, frozen schema accepts them."""
    if isinstance(value, dict):
        return {k: as_tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(as_tuples(v) for v in value)
    return value


def validate_settings(data: dict[str, Any], path: Path) -> PresetModel:
    """Validate merged preset data; PresetError naming the file, key path and value."""
    try:
        return PresetModel.model_validate(data)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        lines = [_describe(err, data) for err in errors[:_MAX_ERRORS]]
        if len(errors) > _MAX_ERRORS:
            lines.append(f"... and {len(errors) - _MAX_ERRORS} more errors")
        raise PresetError(f"{path}: " + "\n  ".join(lines)) from None


def _describe(err: dict[str, Any], data: dict[str, Any]) -> str:
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedValueError):
        return _message(cause.loc, cause.value, cause.expected)
    loc = tuple(part for part in err["loc"] if not _is_union_tag(part))
    if err["type"] == "extra_forbidden" and tuple(map(str, loc)) in RETIRED_KEYS:
        fix = RETIRED_KEYS[tuple(map(str, loc))].format(value=err.get("input"))
        return f"key {_path(loc)}: got {_shown(err.get('input'))}; {fix}"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (f"key {_path(loc)}: unknown key{hint}; expected one of: "
                f"{', '.join(sorted(allowed))}")
    if err["type"] == "missing":
        return f"key {_path(loc)}: missing; expected a value (it has no default)"
    expected = err["msg"]
    for prefix in ("Input should be ", "Value error, ", "Assertion failed, "):
        expected = expected.removeprefix(prefix)
    return _message(loc, err.get("input"), expected)


def _message(loc: tuple, value: object, expected: str) -> str:
    return f"key {_path(loc)}: got {_shown(value)}; expected {expected}"


def _shown(value: object) -> str:
    shown = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    if len(shown) > _MAX_SHOWN:
        shown = f"{shown[:_MAX_SHOWN]}... ({len(shown)} characters)"
    return f"{shown} ({type(value).__name__})"


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return repr(out or "<top level>")


def _is_union_tag(part: object) -> bool:
    # pydantic adds the union member it tried ("tuple[str, ...]", "literal['auto']") to loc
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "none"}
                                      or part.startswith(("function-", "literal")))


def _allowed_keys(loc: tuple) -> list[str]:
    model: type[BaseModel] | None = PresetModel
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:  # a dict key (models.<name>): keep the value model
            continue
        model = _model_in(field.annotation)
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None
