"""Tagging rules at their boundaries, alias moves, rollback, history, the hand-set alias."""
from __future__ import annotations

import uuid

import pytest

from training_lib.errors import RegistryError
from training_lib.registry import tracking
from training_lib.registry.promotion import decide, move_alias
from training_lib.registry.rollback import history, rollback, versions

from tests.fixtures.registry_models import alias_of as _alias
from tests.fixtures.registry_models import register_versions as _versions

RULES = dict(margin=0.01, min_metric=0.5, min_lift=0.05)


@pytest.mark.parametrize(("metric", "baseline", "champion", "tag"), [
    (0.49, 0.1, None, "regressed"),        # below the absolute floor
    (0.50, 0.1, None, "release"),          # exactly at the floor, no champion
    (0.60, 0.56, None, "regressed"),       # lift 0.04 < 0.05 over the trivial baseline
    (0.60, 0.55, None, "release"),         # lift exactly 0.05
    (0.8099, 0.1, 0.80, "candidate"),      # +0.0099: inside the margin
    (0.81, 0.1, 0.80, "release"),          # exactly the margin
    (0.7901, 0.1, 0.80, "candidate"),      # -0.0099: worse but within the margin
    (0.79, 0.1, 0.80, "regressed"),        # worse by the full margin
    (0.80, 0.1, 0.80, "candidate"),        # equal
    (0.795, 0.1, 0.80, "candidate"),       # worse but within the margin
    (0.78, 0.1, 0.80, "regressed"),        # worse by more than the margin
])
def test_rules_at_boundaries(metric, baseline, champion, tag):
    decision = decide(metric, baseline, champion, metric_name="accuracy", **RULES)
    assert decision.tag == tag
    assert f"{metric:.4f}" in decision.reason  # the numbers are in the reason
    assert ("champion" in decision.aliases) == (tag == "release")
    assert ("challenger" in decision.aliases) == (tag == "candidate")


def test_promotion_moves_champion_and_previous_and_rollback_restores():
    name = _versions(3)
    move_alias(name, "champion", "1", "first release")
    move_alias(name, "champion", "2", "better by 0.02")
    assert _alias(name, "champion") == "2" and _alias(name, "previous") == "1"
    done = rollback(name)  # default: the previous champion
    assert done == {"model": name, "from": "2", "to": "1", "reason": "rollback from v2 to v1"}
    assert _alias(name, "champion") == "1"
    assert {v["version"]: v["status"] for v in versions(name)}["2"] == "rolled_back"
    rollback(name, "3", why="v3 passed a manual review")
    assert _alias(name, "champion") == "3"
    moves = [m for m in history(name) if m["alias"] == "champion"]
    assert [(m["action"], m["from"], m["to"]) for m in moves] == [
        ("promote", None, "1"), ("promote", "1", "2"), ("rollback", "2", "1"),
        ("rollback", "1", "3")]
    assert moves[-1]["why"] == "v3 passed a manual review" and moves[-1]["who"]
    assert _alias(name, "previous") == "1"  # the champion before v3


def test_hand_set_alias_is_seen_and_reported():
    name = _versions(2)
    move_alias(name, "champion", "1", "first")
    tracking.client().set_registered_model_alias(name, "champion", "2")  # as in the MLflow UI
    from training_lib.registry.promotion import champion_version

    assert str(champion_version(name).version) == "2"  # the pipeline starts from the alias
    manual = [m for m in history(name) if m["action"] == "manual"]
    assert [(m["alias"], m["from"], m["to"], m["noticed"]) for m in manual] == [
        ("champion", "1", "2", True)]


def test_rollback_errors_are_clear():
    name = _versions(2)
    with pytest.raises(RegistryError, match="no 'previous' alias"):
        rollback(name)
    move_alias(name, "champion", "1", "first")
    with pytest.raises(RegistryError, match="already the champion"):
        rollback(name, "1")
    with pytest.raises(RegistryError, match="no version '7'"):
        rollback(name, "7")
    with pytest.raises(RegistryError, match="no registered model 'nope"):
        rollback("nope_" + uuid.uuid4().hex[:6])
