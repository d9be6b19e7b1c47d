"""A run: its folder (`runs/folder.py` lists the files in it) and the preset pinned in
its config.json.

XCom carries only the folder's path (and small ids); every task reopens the run from
it with `load_run`, so tasks are idempotent and can run on any worker that sees the store.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.config.model_specs import MODELS
from training_lib.config.presets import Preset, as_tuples, load_preset, validate_settings
from training_lib.config.schema import PresetModel
from training_lib.errors import PresetError
from training_lib.runs.files import read_json, write_json
from training_lib.runs.folder import RoundFolder, RunFolder


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

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    def round(self, model: str, round_index: int = 1) -> RoundFolder:
        """models/<model>/round_<k>/ of this run."""
        return self.folder.round(model, round_index)

    def write_json(self, path: Path, data: Any) -> Path:
        """Atomically replace one of the run's files (a `self.folder` path)."""
        return write_json(self.run_dir / path, data)

    def read_json(self, path: Path, default: Any = None) -> Any:
        """One of the run's JSON files (a `self.folder` path), or `default` if absent."""
        return read_json(self.run_dir / path, default)

    def tags(self) -> dict[str, str]:
        return {"preset": self.preset.name, "dag_id": self.dag_id, "run_id": self.run_id,
                "try_number": str(self.try_number)}


def run_dir_for(dag_id: str, run_id: str) -> Path:
    return settings.runs_dir() / settings.safe_name(dag_id) / settings.safe_name(run_id)


def start_run(dag_id: str, run_id: str, preset_name: str, params: dict[str, Any] | None = None,
              try_number: int = 1) -> RunContext:
    """Resolve preset + trigger params once and pin them in config.json (idempotent)."""
    run_dir = run_dir_for(dag_id, run_id)
    if RunFolder(run_dir).config.exists():
        return load_run(run_dir, try_number)
    params = params or {}
    preset = load_preset(preset_name)
    overrides: dict[str, Any] = {}
    if params.get("data_folder"):
        overrides["data_root"] = str(params["data_folder"])
    if params.get("epochs"):
        # the trigger form's epochs win over per-model epochs and epoch budgets: a model
        # override's `epochs` is obeyed exactly (config/schedule.py)
        epochs = int(params["epochs"])
        current = {name: o.model_dump(exclude_none=True)
                   for name, o in preset.settings.models.items()}
        targets = preset.models or [*MODELS, *preset.settings.custom_models]  # auto: any
        names = {*current, *targets}
        overrides["epochs"] = epochs
        overrides["models"] = {name: {**current.get(name, {}), "epochs": epochs}
                               for name in sorted(names)}
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
    ctx.write_json(ctx.folder.config, {"dag_id": dag_id, "run_id": run_id, "preset": preset.name,
                                   "preset_path": str(preset.path), "params": params,
                                   "selected_models": list(selected),
                                   "resolved": preset.resolved()})
    return ctx


def load_run(run_dir: Path, try_number: int = 1) -> RunContext:
    """Reopen a run from its folder (any task, any worker)."""
    config = RunFolder(run_dir).config
    try:
        data = json.loads(config.read_text())
    except FileNotFoundError as e:
        raise PresetError(f"{run_dir}: no config.json; the run's first task has not run") from e
    resolved = dict(data["resolved"])
    name = resolved.pop("name")
    checkpoint = resolved.get("checkpoint")
    if isinstance(checkpoint, dict) and checkpoint.get("every_steps", 0) is None:
        del checkpoint["every_steps"]  # pinned (always null) by runs before the key was retired
    preset = Preset(name, Path(data["preset_path"]), validate_settings(as_tuples(resolved),
                                                                       config))
    return RunContext(data["dag_id"], data["run_id"], run_dir, preset,
                      tuple(data["selected_models"]), try_number)
