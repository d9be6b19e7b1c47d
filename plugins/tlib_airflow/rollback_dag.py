"""The `rollback` DAG: point a model's `champion` alias back at an earlier version.

Trigger it from the UI; the form offers the model names and an optional version
(empty: the `previous` alias). The move is recorded in the model's history.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, task

from training_lib.config.model_specs import MODELS


@task(task_id="rollback")
def rollback_task(**context: Any) -> dict[str, Any]:
    from training_lib.registry.rollback import rollback

    params = context["params"]
    version = params.get("version")
    who = f"airflow run {context['run_id']}"
    return rollback(params["model"], str(version) if version else None,
                    params.get("reason") or f"rollback requested by {who}")


def build_rollback_dag() -> DAG:
    with DAG(
        dag_id="rollback",
        description="Point a model's champion alias at an earlier MLflow version",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        catchup=False,
        tags=["registry", "rollback"],
        doc_md=__doc__,
        params={
            "model": Param(sorted(MODELS)[0], type="string", examples=sorted(MODELS),
                           title="Model", description="the registered model to roll back "
                           "(a built-in name, or your custom model's name)"),
            "version": Param(None, type=["null", "integer"], minimum=1, title="Version",
                             description="empty: the version the 'previous' alias points to"),
            "reason": Param("", type="string", title="Why", description="kept in the history"),
        },
    ) as dag:
        rollback_task()
    return dag
