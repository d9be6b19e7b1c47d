"""Typed accessors for every file a run holds.

    <runs>/<dag_id>/<run_id>/
        config.json            resolved preset + trigger params (written by the first task)
        scan.json              scan summary;  records.jsonl  the catalog rows used
        validation/            Great Expectations results and Data Docs;  validation.json
        routing.json           which files went to which model, and what was left out
        manifests/<model>.json the files routed to one model
        plan.json              resource plan
        incremental.json       incremental presets: what is new since the last good run
        models/<model>/round_<k>/   see RoundFolder
        knowledge/round_<k>/   artifacts shared between collaborative rounds
        faults.jsonl           every fault of the run (crash, stall, lost try, migration)
        failure.json           the task that failed the run for good, and why (first one wins)
        evaluation.json, registry.json, report/
        mlflow.json            MLflow run ids

    >>> folder = RunFolder(Path("/runs/quick_start/manual_1"))
    >>> folder.round("logic_model", 2).result
    PosixPath('/runs/quick_start/manual_1/models/logic_model/round_2/result.json')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training_lib.runs.files import read_json, read_json_or_none

_ROUND = re.compile(r"^round_(\d+)$")


@dataclass(frozen=True)
class RoundFolder:
    """models/<model>/round_<k>/: what one model's training of one round leaves."""

    path: Path
    model: str
    index: int

    @property
    def label(self) -> str:
        """"<model>/round_<k>": the round's name in mlflow.json and in messages."""
        return f"{self.model}/round_{self.index}"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def result(self) -> Path:
        """Written last by the worker: its existence means the round trained."""
        return self.path / "result.json"

    @property
    def heartbeat(self) -> Path:
        return self.path / "heartbeat.json"

    @property
    def metrics(self) -> Path:
        """Steps, epochs and start/resumed/rollback/fit_done events (JSONL)."""
        return self.path / "metrics.jsonl"

    @property
    def system(self) -> Path:
        """CPU, memory, disk I/O and GPU samples (JSONL)."""
        return self.path / "system.jsonl"

    @property
    def anomalies(self) -> Path:
        """Anomaly events and their outcomes (JSONL)."""
        return self.path / "anomalies.jsonl"

    @property
    def model_file(self) -> Path:
        return self.path / "model.keras"

    @property
    def dataset_keys(self) -> Path:
        """Sample keys per split (incremental runs tell old samples from new by them)."""
        return self.path / "dataset_keys.json"

    @property
    def dataset_summary(self) -> Path:
        return self.path / "dataset.json"

    @property
    def collaboration(self) -> Path:
        """What the round took from its peers' knowledge (collaborative rounds k > 1)."""
        return self.path / "collaboration.json"

    @property
    def label_issues(self) -> Path:
        """Likely mislabeled training files (training/references/label_issues.py)."""
        return self.path / "label_issues.json"

    def read_result(self) -> dict[str, Any] | None:
        """The round's result (None: it did not finish); written atomically, so an
        unreadable one is an error, not an unfinished round."""
        return read_json(self.result)

    def read_heartbeat(self) -> dict[str, Any] | None:
        """The newest heartbeat; None when there is none yet or it is being replaced."""
        return read_json_or_none(self.heartbeat)


@dataclass(frozen=True)
class RunFolder:
    """One run's folder and the paths of the files in it."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def scan(self) -> Path:
        return self.path / "scan.json"

    @property
    def records(self) -> Path:
        return self.path / "records.jsonl"

    @property
    def validation_dir(self) -> Path:
        return self.path / "validation"

    @property
    def validation(self) -> Path:
        return self.path / "validation.json"

    @property
    def routing(self) -> Path:
        return self.path / "routing.json"

    @property
    def manifests_dir(self) -> Path:
        return self.path / "manifests"

    def manifest(self, model: str) -> Path:
        return self.manifests_dir / f"{model}.json"

    @property
    def plan(self) -> Path:
        return self.path / "plan.json"

    @property
    def incremental(self) -> Path:
        return self.path / "incremental.json"

    @property
    def evaluation(self) -> Path:
        return self.path / "evaluation.json"

    @property
    def registry(self) -> Path:
        return self.path / "registry.json"

    @property
    def mlflow(self) -> Path:
        return self.path / "mlflow.json"

    @property
    def faults(self) -> Path:
        return self.path / "faults.jsonl"

    @property
    def failure(self) -> Path:
        """Written by the first task that fails for good (a cause no retry can fix)."""
        return self.path / "failure.json"

    @property
    def report_dir(self) -> Path:
        return self.path / "report"

    @property
    def knowledge_dir(self) -> Path:
        return self.path / "knowledge"

    def knowledge(self, round_index: int) -> Path:
        """knowledge/round_<k>/: what the models that finished round k share."""
        return self.knowledge_dir / f"round_{round_index}"

    def knowledge_rounds(self) -> list[tuple[int, Path]]:
        """(k, folder) of every knowledge/round_<k>/, in round order."""
        return _numbered(self.knowledge_dir)

    @property
    def models_dir(self) -> Path:
        return self.path / "models"

    def round(self, model: str, round_index: int = 1) -> RoundFolder:
        return RoundFolder(self.models_dir / model / f"round_{round_index}", model, round_index)

    def rounds(self, model: str | None = None) -> list[RoundFolder]:
        """The round folders that exist (of one model, or of all), by model, then round
        number (round_10 after round_9)."""
        models = [model] if model else self.models()
        return [RoundFolder(path, name, index) for name in models
                for index, path in _numbered(self.models_dir / name)]

    def models(self) -> list[str]:
        """Models with a folder under models/, sorted."""
        if not self.models_dir.is_dir():
            return []
        return sorted(p.name for p in self.models_dir.iterdir() if p.is_dir())

    def newest_results(self) -> dict[str, dict[str, Any]]:
        """The result.json of each model's newest round that has one."""
        results: dict[str, dict[str, Any]] = {}
        for round_folder in self.rounds():  # ascending: a later round replaces an earlier one
            result = round_folder.read_result()
            if result is not None:
                results[round_folder.model] = result
        return results


def _numbered(parent: Path) -> list[tuple[int, Path]]:
    if not parent.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in parent.iterdir() if (m := _ROUND.match(p.name))]
    return sorted(found)
