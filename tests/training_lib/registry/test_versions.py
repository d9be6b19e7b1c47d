"""Registering an incremental run's models: "no change needed" registers nothing and keeps
the champion; every other verdict is a version carrying the decision record."""
from __future__ import annotations

import uuid

import numpy as np

from training_lib.incremental import guard
from training_lib.registry import client
from training_lib.registry.versions import register_run_models
from training_lib.runs.context import start_run
from training_lib.training.significance import compare_proportions

from tests.fixtures.registry_models import alias_of, register_versions


def _result(verdict: guard.Verdict, model_uri: str) -> dict:
    return {"metric": "accuracy", "test_metric": 0.97, "baseline": 0.5, "n_test": 100,
            "sizes": {"train": 300, "val": 50, "test": 100}, "sources": 400,
            "model_uri": model_uri, "classes": ["neg", "pos"],
            "incremental": {"mode": "finetune", "champion_version": "1",
                            "verdict": verdict.verdict, "accepted": verdict.accepted,
                            "reason": verdict.reason, "record": verdict.record}}


def _side(n: int, champion_wrong: int, flipped_wrong: int = 0):
    champion = np.ones(n, dtype=bool)
    champion[:champion_wrong] = False
    candidate = champion.copy()
    candidate[champion_wrong:champion_wrong + flipped_wrong] = False
    return compare_proportions(champion, candidate)


def test_no_change_needed_keeps_the_champion_and_registers_nothing(tmp_path):
    name = register_versions(1)
    from training_lib.registry.promotion import move_alias

    move_alias(name, "champion", "1", "first")
    ctx = start_run("incr_versions", f"r-{uuid.uuid4().hex[:6]}", "incremental_learning",
                    {"data_folder": str(tmp_path)})
    verdict = guard.judge(_side(290, 10), _side(40, 0), epsilon=0.01, metric="accuracy")
    assert verdict.verdict == guard.NO_CHANGE
    decisions = register_run_models(ctx, {name: _result(verdict, "runs:/none/model")})
    assert decisions[name]["version"] is None and decisions[name]["tag"] == "no change needed"
    assert [str(v.version) for v in client.search_versions(name)] == ["1"]  # nothing new
    assert alias_of(name, "champion") == "1"
    tags = client.get_version(name, "1").tags
    assert tags["status"] == "release"  # nothing rejected
    assert tags["incremental_check_verdict"] == "no change needed"
    assert tags["incremental_check_new_champion"].startswith("1.0000 [0.9124, 1.0000]")
    assert tags["incremental_check_run"] == f"incr_versions / {ctx.run_id}"


def test_a_rejected_version_carries_counts_intervals_and_p_values(tmp_path):
    name = register_versions(2)  # v1 champion, v2's artifacts stand in for the fine-tune's
    from training_lib.registry.promotion import move_alias

    move_alias(name, "champion", "1", "first")
    source = client.get_version(name, "2").source
    ctx = start_run("incr_versions", f"r-{uuid.uuid4().hex[:6]}", "incremental_learning",
                    {"data_folder": str(tmp_path)})
    verdict = guard.judge(_side(290, 10), _side(60, 5, flipped_wrong=15), epsilon=0.01,
                          metric="accuracy")
    decisions = register_run_models(ctx, {name: _result(verdict, source)})
    version = decisions[name]["version"]
    assert decisions[name]["tag"] == "rejected" and alias_of(name, "champion") == "1"
    stored = client.get_version(name, version)
    assert stored.tags["incremental_verdict"] == "rejected"
    assert stored.tags["incremental_new_rows"] == "60"
    assert stored.tags["incremental_new_p"] == "6.10352e-05 (mcnemar)"
    assert stored.tags["incremental_new_champion"].startswith("0.9167 [")
    assert "new data worse beyond noise" in stored.tags["status_reason"]
    assert "McNemar 15 champion-only vs 0 candidate-only right" in stored.description
