"""One registry state from every entry point: promotion, the CLI rollback, a hand edit in
the MLflow UI (simulated with the facade's `set_alias`/`delete_alias`, which is what the
UI's REST call does) all end in the same invariants, recorded in the history store.
(The rollback DAG's task: tests/plugins/test_rollback_dag.py, same `assert_invariants`.)"""
from __future__ import annotations

import argparse
import getpass
import json
from types import SimpleNamespace

from tests.fixtures.registry_models import assert_invariants, register_versions
from training_lib.cli.registry import run_history, run_rollback
from training_lib.config.schema import Promotion
from training_lib.registry import aliases, client
from training_lib.registry.promotion import decide_and_apply, move_alias
from training_lib.registry.rollback import history, status_history, versions


def _ctx() -> SimpleNamespace:
    return SimpleNamespace(dag_id="quick_start", run_id="manual__1",
                           settings=SimpleNamespace(promotion=Promotion(margin=0.01,
                                                                        min_metric=0.5,
                                                                        min_lift=0.05)))


def _result(metric: float) -> dict:
    return {"metric": "accuracy", "test_metric": metric, "frozen_metric": metric,
            "baseline": 0.1}


def _promote(name: str, version: str, metric: float) -> None:
    """What register_run_models does after registering a version scored `metric`."""
    client.set_version_tag(name, version, "frozen_accuracy", f"{metric:.6f}")
    decide_and_apply(_ctx(), name, version, _result(metric))


def test_promotion_keeps_the_invariants_and_records_who_and_why():
    name = register_versions(3)
    _promote(name, "1", 0.80)
    assert assert_invariants(name) == {"champion": "1"}
    _promote(name, "2", 0.85)  # better by more than the margin
    _promote(name, "3", 0.852)  # within the margin
    assert assert_invariants(name) == {"champion": "2", "previous": "1", "challenger": "3"}
    moves = history(name)
    assert [(m["alias"], m["from"], m["to"]) for m in moves] == [
        ("champion", None, "1"), ("champion", "1", "2"), ("previous", None, "1"),
        ("challenger", None, "3")]
    assert {m["who"] for m in moves} == {"pipeline quick_start / manual__1"}
    assert all(m["time"].endswith("Z") and not m["noticed"] for m in moves)
    assert "0.8500 beats champion 0.8000" in moves[1]["why"]


def test_cli_rollback_and_a_ui_move_back_end_in_the_same_state(capsys):
    """The issue's case: after a rollback, moving `champion` in the UI onto the version
    that holds `previous` left it with both aliases and still tagged rolled_back."""
    name = register_versions(2)
    move_alias(name, "champion", "1", "first release")
    move_alias(name, "champion", "2", "better by 0.02")
    run_rollback(argparse.Namespace(model=name, version=None, why="v2 misreads sevens"))
    assert capsys.readouterr().out.strip() == f"{name}: champion v2 -> v1 (v2 misreads sevens)"
    assert assert_invariants(name) == {"champion": "1", "previous": "2"}
    assert {r["version"]: r["status"] for r in versions(name)} == {"1": "release",
                                                                  "2": "rolled_back"}

    client.set_alias(name, "champion", "2")  # what the MLflow UI's alias editor does
    assert {r["version"]: (r["status"], r["aliases"]) for r in versions(name)} == {
        "1": ("rolled_back", ["previous"]), "2": ("release", ["champion"])}
    assert_invariants(name)
    manual = [m for m in history(name) if m["action"] == "manual"]
    assert [(m["alias"], m["from"], m["to"], m["noticed"], m["who"]) for m in manual] == [
        ("champion", "1", "2", True, aliases.OUTSIDE)]
    assert len(history(name)) == len(history(name))  # noticed once, not at every read

    run_rollback(argparse.Namespace(model=name, version=None, why=""))  # back to v1
    assert assert_invariants(name) == {"champion": "1", "previous": "2"}
    kept = [(m["action"], m["from"], m["to"]) for m in history(name) if m["alias"] == "champion"]
    assert kept == [("promote", None, "1"), ("promote", "1", "2"), ("rollback", "2", "1"),
                    ("manual", "1", "2"), ("rollback", "2", "1")]  # the manual line stays
    assert history(name)[-1]["who"] == getpass.getuser()


def test_status_reasons_are_appended_not_overwritten():
    name = register_versions(2)
    move_alias(name, "champion", "1", "first release")
    move_alias(name, "champion", "2", "better by 0.02")
    run_rollback(argparse.Namespace(model=name, version="1", why="bad on sevens"))
    client.set_alias(name, "champion", "2")
    versions(name)  # any read records and repairs the hand edit
    v1 = status_history(name, "1")
    assert [(c["from"], c["to"]) for c in v1] == [(None, "release"), ("release", "release"),
                                                  ("release", "rolled_back")]
    assert [c["why"] for c in v1][:2] == ["first release", "bad on sevens"]
    assert "moved by hand from v1 to v2" in v1[-1]["why"]
    assert client.get_version(name, "1").tags["status_reason"] == v1[-1]["why"]  # the latest


def test_deleting_the_champion_in_the_ui_hands_over_to_previous_or_puts_it_back():
    name = register_versions(2)
    move_alias(name, "champion", "1", "first")
    move_alias(name, "champion", "2", "better")
    client.delete_alias(name, "champion")
    assert versions(name)[1]["status"] == "rolled_back"
    assert assert_invariants(name) == {"champion": "1", "previous": "2"}

    single = register_versions(1)
    move_alias(single, "champion", "1", "first")
    client.delete_alias(single, "champion")
    history(single)
    assert assert_invariants(single) == {"champion": "1"}
    assert history(single)[-1]["action"] == "repair"


def test_previous_or_challenger_set_onto_the_champion_in_the_ui_is_repaired():
    name = register_versions(3)
    move_alias(name, "champion", "1", "first")
    move_alias(name, "champion", "2", "better")
    move_alias(name, "challenger", "3", "close")
    client.set_alias(name, "previous", "2")
    client.set_alias(name, "challenger", "2")
    assert aliases.reconcile(name) == {"champion": "2", "previous": "1"}
    assert_invariants(name)


def test_the_old_json_tag_is_moved_into_the_store_with_its_times():
    name = register_versions(2)
    legacy = [{"time": "2026-01-02T03:04:05+0000", "who": "ana", "action": "promote",
               "alias": "champion", "from": None, "to": "1", "why": "first"},
              {"time": "2026-01-03T03:04:05+0000", "who": "ana", "action": "promote",
               "alias": "champion", "from": "1", "to": "2", "why": "better"}]
    client.set_alias(name, "champion", "2")
    client.set_alias(name, "previous", "1")
    client.set_model_tag(name, "alias_history", json.dumps(legacy))
    moves = history(name)
    assert [(m["time"], m["who"], m["to"]) for m in moves] == [
        ("2026-01-02T03:04:05+0000", "ana", "1"), ("2026-01-03T03:04:05+0000", "ana", "2")]
    registered = client.get_registered_model(name)
    assert "alias_history" not in registered.tags
    assert registered.tags[aliases.SUMMARY_TAG].startswith(
        "2026-01-03T03:04:05+0000 promote by ana: champion v1 -> v2")
    assert_invariants(name)


def test_history_prints_none_not_vnone_and_marks_noticed_times(capsys):
    name = register_versions(2)
    move_alias(name, "champion", "1", "first")
    client.set_alias(name, "champion", "2")
    run_history(argparse.Namespace(model=name))
    out = capsys.readouterr().out
    assert "vNone" not in out and "none -> v1" in out
    assert "(noticed)" in out and "status changes:" in out


def test_a_hand_edit_read_by_several_processes_at_once_is_recorded_once():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    name = register_versions(2)
    move_alias(name, "champion", "1", "first")
    client.set_alias(name, "champion", "2")
    code = (f"import sys; sys.path.insert(0, {str(root)!r})\n"
            "from training_lib.registry.rollback import versions\n"
            f"versions({name!r})\n")
    readers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    assert [p.wait(timeout=300) for p in readers] == [0, 0, 0]
    manual = [m for m in history(name) if m["action"] == "manual"]
    assert [(m["from"], m["to"]) for m in manual] == [("1", "2")]
    assert assert_invariants(name) == {"champion": "2", "previous": "1"}
