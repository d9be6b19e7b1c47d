"""The history store: survives the process that wrote it, holds time, actor and reason,
keeps what was recorded when the change fails half way, and writes the rollback form's list."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training_lib.registry.history_store import HistoryStore
from training_lib.registry.model_index import read_index, rollback_choices

ROOT = Path(__file__).resolve().parents[3]


def test_events_survive_the_process_and_carry_time_actor_and_reason(tmp_path):
    path = tmp_path / "registry" / "history.sqlite"
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with HistoryStore(path).transaction() as tx:
        tx.record_alias("m", action="promote", alias="champion", old=None, new="1",
                        actor="pipeline quick_start / run-1", reason="first release")
        tx.record_alias("m", action="manual", alias="champion", old="1", new="2",
                        actor="MLflow UI/API", reason="changed by hand", noticed=True)
        tx.record_status("m", "1", action="rollback", old="release", new="rolled_back",
                         actor="ana", reason="misreads sevens")
        tx.save_model("m", ["1", "2"])
    code = ("import json, sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from training_lib.registry.history_store import HistoryStore\n"
            f"store = HistoryStore({str(path)!r})\n"
            "print(json.dumps([store.alias_events('m'), store.status_events('m', '1')]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    moves, statuses = json.loads(out.stdout.strip().splitlines()[-1])
    assert [(m["who"], m["action"], m["from"], m["to"], m["why"], m["noticed"])
            for m in moves] == [
        ("pipeline quick_start / run-1", "promote", None, "1", "first release", False),
        ("MLflow UI/API", "manual", "1", "2", "changed by hand", True)]
    assert all(m["time"] >= before and m["time"].endswith("Z") for m in moves)
    assert [(s["who"], s["from"], s["to"], s["why"]) for s in statuses] == [
        ("ana", "release", "rolled_back", "misreads sevens")]
    assert HistoryStore(path).alias_events("m", limit=1)[0]["action"] == "manual"


def test_what_was_recorded_before_a_failure_is_kept(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite")
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.record_alias("m", action="rollback", alias="champion", old="2", new="1",
                            actor="ana", reason="bad")
            raise RuntimeError("the MLflow call after the move failed")
    with store.transaction() as tx:
        assert tx.recorded_aliases("m") is None  # never saved as seen...
    assert [m["to"] for m in store.alias_events("m")] == ["1"]  # ...but the move is kept


def test_the_rollback_form_list_offers_models_with_an_earlier_version(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite")
    with store.transaction() as tx:
        tx.record_alias("two", action="promote", alias="champion", old=None, new="2",
                        actor="a", reason="r")
        tx.record_alias("two", action="promote", alias="previous", old=None, new="1",
                        actor="a", reason="r")
        tx.save_model("two", ["1", "2"])
        tx.record_alias("one", action="promote", alias="champion", old=None, new="1",
                        actor="a", reason="r")
        tx.save_model("one", ["1"])
    listing = tmp_path / "models.json"
    assert read_index(listing) == {"two": {"versions": ["1", "2"], "champion": "2",
                                           "previous": "1"},
                                   "one": {"versions": ["1"], "champion": "1"}}
    assert rollback_choices(listing) == {"two": "two (champion v2, previous v1)"}
    listing.write_text("{not json")
    assert rollback_choices(listing) == {}  # unreadable: the form falls back to names
