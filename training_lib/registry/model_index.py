"""A small JSON list of the registered models and their versions, for the rollback form.

Airflow builds the rollback DAG's trigger form when it parses the DAG file, where no
MLflow call is allowed (slow imports, a server that may be down). The registry code
rewrites this file whenever it registers a version, moves an alias or notices a hand
edit (`history_store.HistoryStore.write_index`); the DAG reads it with `json` only.

    >>> from training_lib.registry.model_index import rollback_choices
    >>> rollback_choices()  # [] before anything was registered
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from training_lib import settings


def index_path() -> Path:
    return settings.store_dir() / "registry" / "models.json"


def read_index(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """{model: {"versions": [...], "champion": .., "previous": ..}}; {} when there is no
    usable file yet (never registered, or unreadable: the form then offers built-in names)."""
    try:
        data = json.loads((path or index_path()).read_text())
    except (OSError, ValueError):
        return {}
    models = data.get("models") if isinstance(data, dict) else None
    return models if isinstance(models, dict) else {}


def write_index(models: dict[str, dict[str, Any]], updated: str,
                path: Path | None = None) -> None:
    """Replace the file atomically (a parsing DAG never sees half a file)."""
    target = path or index_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"updated": updated, "models": models}, indent=1, sort_keys=True))
    tmp.replace(target)


def rollback_targets(entry: dict[str, Any]) -> list[str]:
    """Versions a model's champion could be moved to (every version but the champion)."""
    champion = entry.get("champion")
    return [v for v in entry.get("versions") or [] if v != champion]


def rollback_choices(path: Path | None = None) -> dict[str, str]:
    """{model: label} of the registered models that have something to roll back to."""
    choices = {}
    for model, entry in sorted(read_index(path).items()):
        if not rollback_targets(entry):
            continue
        champion, previous = entry.get("champion"), entry.get("previous")
        label = f"{model} (champion v{champion}" if champion else f"{model} (no champion"
        label += f", previous v{previous})" if previous else ")"
        choices[model] = label
    return choices
