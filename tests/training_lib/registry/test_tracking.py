"""Experiments open as model-training experiments in MLflow 3's UI, and a parent run carries
its children's models, so the UI does not file it under "Evaluation runs"."""
from __future__ import annotations

import uuid

from training_lib.registry import tracking


def _kind(name: str) -> str | None:
    return tracking.client().get_experiment_by_name(name).tags.get("mlflow.experimentKind")


def test_new_experiments_are_tagged_as_model_training():
    name = "kind_" + uuid.uuid4().hex[:8]
    tracking.create_run(name)
    assert _kind(name) == "custom_model_development"


def test_existing_experiments_are_tagged_when_first_used():
    untagged, genai = "old_" + uuid.uuid4().hex[:8], "genai_" + uuid.uuid4().hex[:8]
    tracking.client().create_experiment(untagged)  # made before the tag existed
    tracking.client().create_experiment(genai, tags={"mlflow.experimentKind":
                                                     "genai_development"})  # UI's guess
    assert _kind(untagged) is None
    tracking.experiment_id(untagged)
    tracking.experiment_id(genai)
    assert _kind(untagged) == _kind(genai) == "custom_model_development"


def test_the_parent_run_carries_the_models_of_its_children():
    experiment = "parent_" + uuid.uuid4().hex[:8]
    parent = tracking.create_run(experiment, "dag run")
    child = tracking.create_run(experiment, "vision_service",
                                {"mlflow.parentRunId": parent})
    model = tracking.client().create_logged_model(tracking.experiment_id(experiment),
                                                  name="model", source_run_id=child)
    assert tracking.link_model_to_parent(child, model.model_id) == parent
    outputs = tracking.get_run(parent).outputs.model_outputs
    assert [o.model_id for o in outputs] == [model.model_id]
    assert tracking.link_model_to_parent(parent, model.model_id) is None  # a top-level run
