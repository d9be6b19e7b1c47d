"""What "new data" is measured against: the data the model's champion was trained on.

A registered version carries the `dag_id` and `run_id` of the run that trained it; that
run's folder keeps the files routed to the model (`manifests/<model>.json`, content
hashes) and the sample keys of its dataset (`models/<model>/round_<k>/dataset_keys.json`).
Files not in the manifest are new to the champion, samples whose key is not in the keys
are its new rows (for testing and for training).

When the champion's run folder is gone (or predates sample keys) its data is unknown:
the baseline falls back to the last successful run of the incremental preset
(`snapshot.py`), and says so. A model without a champion, or with neither record, has no
baseline: the incremental preset skips it and names the preset that trains it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from training_lib.runs.context import run_dir_for
from training_lib.runs.folder import RunFolder

CHAMPION, SNAPSHOT, NONE = "champion", "snapshot", "none"


@dataclass(frozen=True)
class Baseline:
    """The data a model's champion is known to have seen."""

    model: str
    source: str  # champion | snapshot | none
    note: str  # where the baseline comes from, or why there is none
    champion_version: str | None = None
    files: frozenset[str] = field(default_factory=frozenset)  # content hashes
    keys_file: str | None = None  # champion: its run's dataset_keys.json

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "note": self.note,
                "champion_version": self.champion_version, "keys_file": self.keys_file}


def champion_run_data(model: str, tags: dict[str, str]) -> tuple[frozenset[str], Path] | str:
    """(file hashes, dataset_keys.json) of the run that trained a version with these tags,
    or why they cannot be found."""
    dag_id, run_id = tags.get("dag_id"), tags.get("run_id")
    if not dag_id or not run_id:
        return "its version has no dag_id/run_id tags"
    folder = RunFolder(run_dir_for(dag_id, run_id))
    if not folder.path.is_dir():
        return f"the run folder of {dag_id} / {run_id} is gone ({folder.path})"
    try:
        manifest = json.loads(folder.manifest(model).read_text())
    except (OSError, ValueError):
        return f"{folder.manifest(model)} is missing or unreadable"
    keys = [r.dataset_keys for r in folder.rounds(model) if r.dataset_keys.exists()]
    if not keys:
        return f"run {dag_id} / {run_id} kept no sample keys for {model} (dataset_keys.json)"
    return frozenset(f["content_hash"] for f in manifest.get("files", [])), keys[-1]


def resolve(model: str, champion: Any | None, snapshot: dict[str, Any] | None,
            train_with: Callable[[], str]) -> Baseline:
    """The model's baseline. `champion` is its champion ModelVersion (None: none yet),
    `snapshot` the last successful incremental run's record, `train_with` gives the
    preset(s) to name when the model must first be trained in full."""
    if champion is None:
        return Baseline(model, NONE, f"{model}: no champion version yet; incremental learning "
                                     f"only fine-tunes a champion: run {train_with()} first")
    version = str(champion.version)
    found = champion_run_data(model, dict(champion.tags or {}))
    if not isinstance(found, str):
        files, keys = found
        tags = champion.tags or {}
        return Baseline(model, CHAMPION, f"the data champion v{version} was trained on (run "
                                         f"{tags.get('dag_id')} / {tags.get('run_id')}, "
                                         f"{len(files)} files)", version, files, str(keys))
    seen = (snapshot or {}).get("models", {}).get(model)
    if seen:
        return Baseline(model, SNAPSHOT, f"champion v{version}'s training data is unknown "
                                         f"({found}); new data is what the last incremental "
                                         f"run ({snapshot['run_id']}) did not see",
                        version, judged_files(snapshot, model))
    return Baseline(model, NONE, f"{model}: champion v{version}'s training data is unknown "
                                 f"({found}) and no earlier incremental run recorded {model}'s "
                                 f"samples, so new data cannot be told from old; run "
                                 f"{train_with()} to train a champion whose data is recorded",
                    version)


def judged_files(snapshot: dict[str, Any] | None, model: str) -> frozenset[str]:
    """The model's files the last successful incremental run judged (a model that was
    waiting for more new data keeps its older entry, so its new files stay new)."""
    if not snapshot:
        return frozenset()
    per_model = snapshot.get("model_files")
    if per_model is None:  # snapshots written before per-model files: the run's files
        return frozenset(snapshot.get("files", []))
    return frozenset(per_model.get(model, []))


def training_presets(model: str, exclude: str = "") -> str:
    """The presets that train `model` from scratch, dedicated ones first, for messages."""
    from training_lib.config.presets import load_all

    presets, _ = load_all()
    names = sorted((len(p.models), name) for name, p in presets.items()
                   if name != exclude and model in p.models and p.settings.incremental is None)
    if not names:
        return f"a preset that trains {model}"
    first, *rest = [name for _, name in names]
    epochs = presets[first].settings.for_model(model, "epochs")
    return (f"preset {first} ({epochs} epochs)" +
            (f" or {', '.join(rest[:3])}" if rest else ""))
