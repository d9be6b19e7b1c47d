"""What a run's files say: results, trainable models, incremental skips, problems."""
from __future__ import annotations

from training_lib.runs.context import start_run
from training_lib.runs.outcome import (incremental_skip_reason, model_results, run_problems,
                                       trainable_models)


def _run(tmp_path, run_id: str):
    return start_run("outcome_test", run_id, "quick_start", {"data_folder": str(tmp_path)})


def test_problems_follow_the_stage_files(tmp_path):
    ctx = _run(tmp_path, "p-1")
    assert run_problems(ctx) == ["evaluate did not finish (no evaluation.json)"]
    ctx.write_json(ctx.folder.evaluation, {"a": {"status": "trained"},
                                           "b": {"status": "failed"}})
    assert run_problems(ctx) == ["models failed to train: b",
                                 "register_versions did not finish (no registry.json)"]
    ctx.write_json(ctx.folder.registry, {})
    assert run_problems(ctx) == ["models failed to train: b"]


def test_an_incremental_run_with_nothing_new_has_no_problems_and_skips_its_models(tmp_path):
    ctx = _run(tmp_path, "p-2")
    ctx.write_json(ctx.folder.incremental, {"previous_run": "r0", "proceed": False,
                                            "models_with_new_data": []})
    assert run_problems(ctx) == []
    assert incremental_skip_reason(ctx, "math_model") == "math_model: no new data since run r0"


def test_trainable_models_leave_out_what_routing_left_out(tmp_path):
    ctx = _run(tmp_path, "p-3")
    assert trainable_models(ctx) == []
    ctx.write_json(ctx.folder.routing, {"models": ["a", "b"], "left_out": {"b": "no data"}})
    assert trainable_models(ctx) == ["a"]


def test_model_results_read_each_models_newest_round(tmp_path):
    ctx = _run(tmp_path, "p-4")
    for k, metric in ((1, 0.5), (2, 0.75)):
        ctx.write_json(ctx.round("a", k).result, {"test_metric": metric})
    assert model_results(ctx) == {"a": {"test_metric": 0.75}}

