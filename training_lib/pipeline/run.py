"""The run folder: everything one DAG run reads and writes, in one place.

    <runs>/<dag_id>/<run_id>/
        config.json        resolved preset + trigger params (written by the first task)
        scan.json          scan summary;  records.jsonl  the catalog rows used
        validation/        Great Expectations results and Data Docs
        plan.json          resource plan
        manifests/<model>.json
        models/<model>/round_<k>/   checkpoints/, metrics.jsonl, system.jsonl, anomalies.jsonl,
                                    heartbeat.json, result.json
        knowledge/round_<k>/        artifacts shared between rounds
        evaluation.json, registry.json, report/
        mlflow.json        MLflow run ids

XCom carries only this folder's path (and small ids); every task reopens the run
from it, so tasks are idempotent and can run on any worker that sees the store.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.config.presets import Preset, as_tuples, load_preset, validate_settings
from training_lib.config.schema import PresetModel
from training_lib.errors import PresetError


@dataclass(frozen=True)
class RunContext:
    dag_id: str
    run_id: str
    run_dir: Path
    preset: Preset
    selected_models: tuple[str, ...]
    try_number: int = 1

    @property
    def settings(self) -> PresetModel:
        return self.preset.settings

    @property
    def data_root(self) -> Path:
        return settings.resolve_data_root(self.settings.data_root)

    def model_dir(self, model: str, round_index: int = 1) -> Path:
        return self.run_dir / "models" / model / f"round_{round_index}"

    def manifest_path(self, model: str) -> Path:
        return self.run_dir / "manifests" / f"{model}.json"

    def write_json(self, relative: str, data: Any) -> Path:
        path = self.run_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        tmp.replace(path)
        return path

    def read_json(self, relative: str, default: Any = None) -> Any:
        path = self.run_dir / relative
        return json.loads(path.read_text()) if path.exists() else default

    def tags(self) -> dict[str, str]:
        return {"preset": self.preset.name, "dag_id": self.dag_id, "run_id": self.run_id,
                "try_number": str(self.try_number)}


def run_dir_for(dag_id: str, run_id: str) -> Path:
    return settings.runs_dir() / settings.safe_name(dag_id) / settings.safe_name(run_id)


def start_run(dag_id: str, run_id: str, preset_name: str, params: dict[str, Any] | None = None,
              try_number: int = 1) -> RunContext:
    """Resolve preset + trigger params once and pin them in config.json (idempotent)."""
    run_dir = run_dir_for(dag_id, run_id)
    pinned = run_dir / "config.json"
    if pinned.exists():
        return load_run(run_dir, try_number)
    params = params or {}
    preset = load_preset(preset_name)
    overrides: dict[str, Any] = {}
    if params.get("data_folder"):
        overrides["data_root"] = str(params["data_folder"])
    if params.get("epochs"):  # the trigger form's epochs win over per-model epochs too
        overrides["epochs"] = int(params["epochs"])
        overrides["models"] = {name: {k: v for k, v in o.model_dump().items()
                                      if v is not None and k != "epochs"}
                               for name, o in preset.settings.models.items()}
    preset = preset.with_overrides(**overrides)
    wanted = [m for m in (params.get("models") or []) if m]
    available = preset.models or list(params.get("auto_models") or [])
    unknown = [m for m in wanted if m not in preset.models]
    if unknown and preset.models:
        raise PresetError(f"trigger param 'models': got {unknown}; expected a subset of "
                          f"{preset.models}")
    selected = tuple(wanted or available)
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(dag_id, run_id, run_dir, preset, selected, try_number)
    ctx.write_json("config.json", {"dag_id": dag_id, "run_id": run_id, "preset": preset.name,
                                   "preset_path": str(preset.path), "params": params,
                                   "selected_models": list(selected),
                                   "resolved": preset.resolved()})
    return ctx


def load_run(run_dir: Path, try_number: int = 1) -> RunContext:
    """Reopen a run from its folder (any task, any worker)."""
    try:
        data = json.loads((run_dir / "config.json").read_text())
    except FileNotFoundError as e:
        raise PresetError(f"{run_dir}: no config.json; the run's first task has not run") from e
    resolved = dict(data["resolved"])
    name = resolved.pop("name")
    preset = Preset(name, Path(data["preset_path"]), validate_settings(as_tuples(resolved),
                                                               run_dir / "config.json"))
    return RunContext(data["dag_id"], data["run_id"], run_dir, preset,
                      tuple(data["selected_models"]), try_number)
