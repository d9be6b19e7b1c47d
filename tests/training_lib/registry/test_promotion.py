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


# ---- decide_and_apply against a real champion ----------------------------------------------
# (better by the margin and within it: test_aliases.py; the registered model unreadable:
# test_client.py. Here: worse, no lift, the test-split fallback, the champion's version
# unreadable.)
def _ctx():
    from types import SimpleNamespace

    from training_lib.config.schema import Promotion

    return SimpleNamespace(dag_id="quick_start", run_id="manual__7",
                           settings=SimpleNamespace(promotion=Promotion(**RULES)))


def _register(name: str, version: str, frozen: float | None, test: float,
              baseline: float = 0.1, reference: float | None = None) -> dict:
    """Tag `version` as register_version does and promote it; the decision."""
    from training_lib.registry import client
    from training_lib.registry.promotion import decide_and_apply

    client.set_version_tag(name, version, "test_accuracy", f"{test:.6f}")
    if frozen is not None:
        client.set_version_tag(name, version, "frozen_accuracy", f"{frozen:.6f}")
    return decide_and_apply(_ctx(), name, version, {
        "metric": "accuracy", "test_metric": test, "frozen_metric": frozen, "baseline": baseline,
        "reference": reference, "reference_model": "tf-idf, logistic regression"})


def _status(name: str, version: str) -> str | None:
    from training_lib.registry import client

    return (client.get_version(name, version).tags or {}).get("status")


@pytest.fixture
def with_champion():
    """A registered model whose v1 (0.80 on the frozen set) is the champion; v2-v4 unset."""
    from tests.fixtures.registry_models import assert_invariants

    name = _versions(4)
    assert _register(name, "1", 0.80, 0.80)["tag"] == "release"
    assert assert_invariants(name) == {"champion": "1"}
    return name


def test_a_better_version_takes_over_and_the_old_champion_becomes_previous(with_champion):
    from tests.fixtures.registry_models import assert_invariants

    decision = _register(with_champion, "2", 0.81, 0.81)  # exactly the margin
    assert (decision["tag"], decision["champion_before"]) == ("release", "1")
    assert "0.8100 beats champion 0.8000" in decision["reason"]
    assert assert_invariants(with_champion) == {"champion": "2", "previous": "1"}


def test_a_worse_version_is_regressed_and_the_champion_untouched(with_champion):
    from tests.fixtures.registry_models import assert_invariants

    decision = _register(with_champion, "2", 0.70, 0.70)  # above both floors, below v1
    assert (decision["tag"], decision["aliases"]) == ("regressed", [])
    assert "worse than champion 0.8000" in decision["reason"]
    assert _status(with_champion, "2") == "regressed"
    assert assert_invariants(with_champion) == {"champion": "1"}
    assert _status(with_champion, "1") == "release"


def test_within_the_margin_is_a_challenger_and_the_champion_stays(with_champion):
    from tests.fixtures.registry_models import assert_invariants

    decision = _register(with_champion, "2", 0.805, 0.805)
    assert decision["tag"] == "candidate"
    assert assert_invariants(with_champion) == {"champion": "1", "challenger": "2"}


def test_no_lift_over_the_trivial_baseline_is_never_released(with_champion):
    from tests.fixtures.registry_models import assert_invariants

    # far above the champion, but the majority class alone scores 0.93
    decision = _register(with_champion, "2", 0.95, 0.95, baseline=0.93)
    assert decision["tag"] == "regressed" and "trivial baseline 0.9300" in decision["reason"]
    assert assert_invariants(with_champion) == {"champion": "1"}
    fresh = _versions(1)  # and with no champion to beat either
    assert _register(fresh, "1", 0.95, 0.95, baseline=0.93)["tag"] == "regressed"
    assert _alias(fresh, "champion") is None


def test_without_frozen_scores_the_test_split_scores_are_compared():
    from tests.fixtures.registry_models import assert_invariants

    name = _versions(2)
    assert _register(name, "1", None, 0.80)["tag"] == "release"  # a champion from before
    decision = _register(name, "2", 0.99, 0.75)  # great on the frozen set, worse on test
    assert decision["tag"] == "regressed" and "own test split" in decision["reason"]
    assert assert_invariants(name) == {"champion": "1"}


def test_an_unreadable_champion_version_raises_and_decides_nothing(with_champion, monkeypatch):
    from mlflow.exceptions import MlflowException

    from tests.fixtures.registry_models import assert_invariants
    from training_lib.registry import client

    def broken(*args, **kwargs):
        raise MlflowException("connection reset by peer")

    monkeypatch.setattr(client.client(), "get_model_version", broken)
    with pytest.raises(RegistryError, match="connection reset by peer"):
        _register(with_champion, "2", 0.95, 0.95)
    monkeypatch.undo()
    assert _status(with_champion, "2") is None
    assert assert_invariants(with_champion) == {"champion": "1"}


# ---- no lift, and the classical reference's gate ----------------------------------------
@pytest.mark.parametrize(("metric", "baseline"), [
    (1.0, 1.0),    # a perfect score that the majority class reaches too
    (0.0, 0.0),    # an exact match nobody reaches, the most frequent answer neither
    (0.70, 0.75),  # below the baseline
])
def test_no_lift_is_never_a_release_even_without_floors(metric, baseline):
    decision = decide(metric, baseline, None, margin=0.01, min_metric=0.0, min_lift=0.0,
                      metric_name="accuracy")
    assert (decision.tag, decision.aliases) == ("regressed", ())
    assert f"baseline {baseline:.4f}" in decision.reason
    # the smallest real lift still passes
    assert decide(metric + 0.001, metric, None, margin=0.01, min_metric=0.0,
                  min_lift=0.0).tag == "release"


@pytest.mark.parametrize(("test", "reference", "tag"), [
    (0.80, 0.81, "release"),           # trails by exactly the allowed gap
    (0.80, 0.8101, "below_reference"),  # by a hair more
    (0.80, 0.95, "below_reference"),
    (0.90, 0.80, "release"),           # beats it
])
def test_reference_gap_at_its_boundary(test, reference, tag):
    decision = decide(test, 0.1, None, reference=reference, metric_name="accuracy", **RULES)
    assert decision.tag == tag
    if tag == "below_reference":
        assert decision.aliases == ()
        assert f"{test:.4f}" in decision.reason and f"{reference:.4f}" in decision.reason


def test_below_reference_is_tagged_and_never_champion(with_champion):
    from tests.fixtures.registry_models import assert_invariants

    # far better than the champion on the frozen set, but a TF-IDF model beats it by 0.03
    decision = _register(with_champion, "2", 0.90, 0.90, reference=0.93)
    assert (decision["tag"], decision["aliases"]) == ("below_reference", [])
    assert "0.9000" in decision["reason"] and "0.9300" in decision["reason"]
    assert "tf-idf" in decision["reason"]
    assert _status(with_champion, "2") == "below_reference"
    assert assert_invariants(with_champion) == {"champion": "1"}
    fresh = _versions(1)  # and with no champion to beat either
    assert _register(fresh, "1", 0.90, 0.90, reference=0.93)["tag"] == "below_reference"
    assert _alias(fresh, "champion") is None
    # within the gap it is promoted as usual
    assert _register(with_champion, "3", 0.92, 0.92, reference=0.93)["tag"] == "release"
    assert assert_invariants(with_champion) == {"champion": "3", "previous": "1"}
