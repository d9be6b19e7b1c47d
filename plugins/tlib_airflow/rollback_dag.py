"""The `rollback` DAG: point a model's `champion` alias back at an earlier version.

Trigger it from the UI; the form offers the registered models that have a version to roll
back to, with their champion and previous versions, and an optional version (empty: the
`previous` alias). The move is recorded in the model's history with the user who
triggered it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, task

from training_lib.config.model_specs import MODELS
from training_lib.registry.model_index import rollback_choices


@task(task_id="rollback")
def rollback_task(**context: Any) -> dict[str, Any]:
    from training_lib.registry.rollback import rollback

    params = context["params"]
    version = params.get("version")
    dag_run = context.get("dag_run")
    user = getattr(dag_run, "triggering_user_name", None)
    who = f"airflow {user or 'rollback DAG'} (run {context['run_id']})"
    return rollback(params["model"], str(version) if version else None,
                    params.get("reason") or f"rollback requested by {who}", actor=who)


def model_param() -> Param:
    """The form's model field, from the registry's cached model list (read with `json`
    only: parsing this file must not import mlflow nor call the server); built-in names
    until something was registered."""
    choices = rollback_choices()
    if choices:
        # a free-text field with suggestions (Airflow shows `values_display` labels only
        # for an `enum`, which would refuse a model registered since the last parse): the
        # champion and previous of each model go in the description
        return Param(next(iter(choices)), type="string", examples=list(choices), title="Model",
                     description="registered models with an earlier version to roll back to "
                                 "(as of the last parse): " + "; ".join(choices.values()))
    return Param(sorted(MODELS)[0], type="string", examples=sorted(MODELS), title="Model",
                 description="no registered model has an earlier version yet; a built-in name "
                             "or your custom model's name")


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
            "model": model_param(),
            "version": Param(None, type=["null", "integer"], minimum=1, title="Version",
                             description="empty: the version the 'previous' alias points to"),
            "reason": Param("", type="string", title="Why", description="kept in the history"),
        },
    ) as dag:
        rollback_task()
    return dag
