"""Build the Airflow DAG of one preset.

    scan_data >> validate_data >> allocate_resources
      >> [<model>.wait_for_resources >> <model>.train] for each model   (round 1)
      >> share_knowledge_1 >> [round 2 groups] ...                      (collaborative)
      >> evaluate >> register_versions >> render_report

A DAG file in dags/ is two lines: it calls `build_preset_dag(__file__)`, and the
preset with the file's name is loaded. A broken preset raises here, which Airflow
records as an import error of that one file; every other DAG still loads.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from airflow.sdk import (DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, TaskGroup,
                         TriggerRule)

from tlib_airflow import tasks
from tlib_airflow.links import ReportLink
from tlib_airflow.sensors import WaitForResourcesSensor
from training_lib.config.presets import Preset, load_preset
from training_lib.config.model_specs import MODELS

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
CPU_POOL, GPU_POOL = "tlib_cpu", "tlib_gpu"  # sized by allocate_resources


def build_preset_dag(dag_file: str) -> DAG:
    return build_dag(load_preset(Path(dag_file).stem))


def build_dag(preset: Preset) -> DAG:
    s = preset.settings
    with DAG(
        dag_id=preset.name,
        description=s.description[:200],
        schedule=schedule_of(preset),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=sorted({"preset", *s.tags}),
        doc_md=doc_md(preset),
        params=trigger_params(preset),
        default_args={
            "retries": s.retries,
            "retry_delay": dt.timedelta(seconds=s.retry_delay_seconds),
            "retry_exponential_backoff": 2.0,
            "max_retry_delay": dt.timedelta(minutes=10),
        },
    ) as dag:
        name = preset.name
        scan = tasks.scan_data.override(
            task_id="scan_data",
            # other presets' scans announce new catalog entries; an incremental preset's
            # own scan does not (it would trigger itself)
            outlets=[] if s.incremental else [catalog_asset(preset)],
        )(preset_name=name)
        validate = tasks.validate_data.override(task_id="validate_data")(preset_name=name)
        allocate = tasks.allocate_resources.override(task_id="allocate_resources")(preset_name=name)
        if s.incremental:
            detect = tasks.detect_new_data.override(task_id="detect_new_data")(preset_name=name)
            head = scan >> validate >> detect >> allocate
        else:
            head = scan >> validate >> allocate
        # target_models: auto -> a branch per known model; routing skips those without data
        models = preset.models or [*MODELS, *s.custom_models]
        previous: Any = head
        for round_index in range(1, s.rounds + 1):
            groups = [model_group(preset, model, round_index) for model in models]
            previous >> groups
            previous = groups
            if round_index < s.rounds:
                share = tasks.share_knowledge.override(
                    task_id=f"share_knowledge_{round_index}", trigger_rule=TriggerRule.ALL_DONE,
                )(preset_name=name, round_index=round_index)
                groups >> share
                previous = share
        evaluate = tasks.evaluate.override(task_id="evaluate", trigger_rule=TriggerRule.ALL_DONE,
                                           retries=0)(preset_name=name)
        register = tasks.register_versions.override(task_id="register_versions")(preset_name=name)
        report = tasks.render_report.override(task_id="render_report",
                                              trigger_rule=TriggerRule.ALL_DONE,
                                              retries=0)(preset_name=name)
        report.operator.operator_extra_links = (ReportLink(),)  # the report.html button
        previous >> evaluate >> register >> report
    return dag


def catalog_asset(preset: Preset) -> Asset:
    """The data folder as an Airflow Asset: updated when a preset's scan catalogs it."""
    from training_lib.settings import resolve_data_root

    root = resolve_data_root(preset.settings.data_root).resolve()
    return Asset(name=f"catalog:{root}", uri=root.as_uri())


def schedule_of(preset: Preset) -> Any:
    """The preset's cron, or for incremental presets cron OR new data in the catalog."""
    s = preset.settings
    if s.incremental and s.incremental.trigger_on_new_data:
        if s.schedule and not s.schedule.startswith("@"):
            return AssetOrTimeSchedule(timetable=CronTriggerTimetable(s.schedule, timezone="UTC"),
                                       assets=[catalog_asset(preset)])
        return [catalog_asset(preset)]
    return s.schedule


def model_group(preset: Preset, model: str, round_index: int) -> TaskGroup:
    s = preset.settings
    group_id = model if s.rounds == 1 else f"round_{round_index}_{model}"
    with TaskGroup(group_id=group_id, tooltip=MODELS[model].description if model in MODELS
                   else model) as group:
        wait = WaitForResourcesSensor(task_id="wait_for_resources", preset_name=preset.name,
                                      model=model, poke_interval=15,
                                      timeout=s.resource_wait_timeout_seconds)
        train = tasks.train.override(
            task_id="train",
            pool=GPU_POOL if s.use_gpu else CPU_POOL,
            **train_queue(s.use_gpu),
            priority_weight=priority_weight(preset, model),
            weight_rule="absolute",
            execution_timeout=(dt.timedelta(minutes=s.execution_timeout_minutes)
                               if s.execution_timeout_minutes else None),
        )(preset_name=preset.name, model=model, round_index=round_index)
        wait >> train
    return group


def train_queue(use_gpu: bool) -> dict[str, str]:
    """Celery: GPU presets' trainings go to TLIB_GPU_QUEUE, others to TLIB_TRAIN_QUEUE;
    unset, Airflow's default queue (LocalExecutor ignores queues)."""
    queue = (os.environ.get("TLIB_GPU_QUEUE") if use_gpu else None) or \
        os.environ.get("TLIB_TRAIN_QUEUE")
    return {"queue": queue} if queue else {}


def priority_weight(preset: Preset, model: str) -> int:
    """Urgent first, then small: urgency (0-10) dominates, footprint breaks ties."""
    urgency = preset.settings.for_model(model, "urgency")
    footprint = MODELS[model].footprint_mb if model in MODELS else 512
    return urgency * 100 + max(0, 99 - footprint // 32)


def trigger_params(preset: Preset) -> dict[str, Param]:
    s = preset.settings
    models = preset.models
    params = {
        "data_folder": Param(s.data_root, type="string", title="Data folder",
                             description="absolute, or relative to the project root"),
        "epochs": Param(None, type=["null", "integer"], minimum=1, title="Epochs override",
                        description=f"leave empty for the preset's {s.epochs}"),
        "force_retrain": Param(False, type="boolean", title="Force retraining",
                               description="train every model even when its inputs (files, "
                               "settings, code, preprocessing, seed) are unchanged since a "
                               "registered version, which is otherwise reused"),
    }
    if models:
        params["models"] = Param(models, type="array", title="Models to train",
                                 items={"type": "string", "enum": models},
                                 description="a subset of the preset's models")
    return params


def doc_md(preset: Preset) -> str:
    import json

    resolved = json.dumps(preset.resolved(), indent=2)
    return (f"### {preset.name}\n\n{preset.settings.description}\n\n"
            f"Preset file: `{preset.path}`\n\nResolved preset (defaults merged):\n\n"
            f"```json\n{resolved}\n```\n")
