"""What the last successful run of a preset saw: its files and each model's sample keys.

`<store>/snapshots/<dag_id>.json` is written when a run ends well. The next run treats
a model's files in it as judged (only newer files trigger a fine-tuning), and falls back
to it as the baseline of a model whose champion's training data is unknown (baseline.py):
samples are told apart by their keys (the content hash of a file, or of a JSON record).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.runs.context import RunContext


def snapshot_path(dag_id: str) -> Path:
    return settings.store_dir() / "snapshots" / f"{settings.safe_name(dag_id)}.json"


def load_snapshot(dag_id: str) -> dict[str, Any] | None:
    try:
        return json.loads(snapshot_path(dag_id).read_text())
    except (OSError, ValueError):
        return None


def model_keys(ctx: RunContext, model: str) -> dict[str, list[str]]:
    """Sample keys per split the model trained on in this run (written by the worker)."""
    for folder in reversed(ctx.folder.rounds(model)):
        if folder.dataset_keys.exists():
            return json.loads(folder.dataset_keys.read_text())
    return {}


def save_snapshot(ctx: RunContext, files: list[str], models: list[str]) -> Path:
    """Record this run as the last successful one. `models` are the models this run
    judged (trained); the others keep their earlier entries: a model without new data is
    not forgotten, and one that was waiting for more new data keeps its new files new."""
    previous = load_snapshot(ctx.dag_id) or {}
    keys = dict(previous.get("models", {}))
    model_files = dict(previous.get("model_files", {}))
    for model in models:
        found = model_keys(ctx, model)
        if found:
            keys[model] = found
        manifest = ctx.read_json(ctx.folder.manifest(model), {}) or {}
        model_files[model] = sorted({f["content_hash"] for f in manifest.get("files", [])})
    data = {"dag_id": ctx.dag_id, "run_id": ctx.run_id, "time": time.time(),
            "files": sorted(set(files)), "models": keys, "model_files": model_files}
    path = snapshot_path(ctx.dag_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    return path
