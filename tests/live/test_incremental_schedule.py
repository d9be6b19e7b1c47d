"""The nightly incremental DAG under the real scheduler (LocalExecutor), started by nobody:
its cron fires a scheduled run that fine-tunes the champion on the new data and records
the paired decision (champion and candidate on the same old and new test rows), and its
Asset (`catalog:<folder>`) fires an asset-triggered run when another preset's scan
catalogs new files in the folder."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.fixtures.tiny_data import write_propositions

pytestmark = pytest.mark.slow

SOURCE, NIGHTLY = "catalog_logic", "nightly_logic"
_COMMON = """target_models: [logic_model]
epochs: 2
batch_size: 16
deterministic: true
retries: 0
use_gpu: false
# exactly this many epochs (a model spec's epoch budget would extend a short preset)
models:
  logic_model: {epochs: 2}
"""


def _source_preset(data) -> str:
    # trains the champion on the first file only, so a later run reuses it (no training)
    # while its scan still catalogs every file of the folder
    return (f"description: the logic model's champion; its scan catalogs {data}\n"
            f"data_root: {data}\n"
            "datasets: [{path: logic, include: [propositions.jsonl]}]\n" + _COMMON)


def _nightly_preset(data) -> str:
    return (f"description: nightly incremental learning, every minute for the live test\n"
            f"data_root: {data}\n"
            "schedule: '* * * * *'\n"
            "incremental: {replay_ratio: 1.0, forgetting_epsilon: 0.01, min_new_test_rows: 30}\n"
            + _COMMON)


def _folder(dag_id: str, run_id: str):
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    return RunFolder(run_dir_for(dag_id, run_id))


def _read(path) -> dict:
    return json.loads(path.read_text())


def _report(dag_id: str, run_id: str) -> dict:
    (path,) = _folder(dag_id, run_id).report_dir.glob("training_report_*.json")
    return _read(path)


def _task_state(live_stack, dag_id: str, run_id: str, task_id: str) -> str | None:
    return live_stack.states(dag_id, run_id).get(task_id, {}).get("state")


def test_nightly_runs_from_its_cron_and_from_new_data_in_the_catalog(live_stack, tmp_path):
    from training_lib.registry import client, tracking
    from training_lib.registry.promotion import champion_version, move_alias
    from training_lib.stack.processes import wait_until

    data = tmp_path / "data"
    write_propositions(data / "logic" / "propositions.jsonl", 400, seed=0)
    live_stack.add_preset(SOURCE, _source_preset(data))
    live_stack.add_preset(NIGHTLY, _nightly_preset(data))
    try:
        # the champion the nights start from (quick_start's part in the README's story)
        first = live_stack.trigger(SOURCE, {"data_folder": str(data)})
        assert live_stack.wait_run(SOURCE, first, timeout=300) == "success"
        version = str(_read(_folder(SOURCE, first).registry)["logic_model"]["version"])
        champion = champion_version("logic_model")
        if champion is None or str(champion.version) != version:  # another live test's
            move_alias("logic_model", "champion", version, "the champion of the live nights")
        write_propositions(data / "logic" / "night_1.jsonl", 600, seed=1)  # ~50 new test rows

        # (a) the schedule: nobody triggers; unpaused, the cron makes a scheduled run
        live_stack.wait_dag(NIGHTLY)
        assert live_stack.api.get_dag(NIGHTLY)["is_paused"]  # it ran from nothing so far
        assert live_stack.api.dag_runs(NIGHTLY) == []
        live_stack.api.unpause(NIGHTLY)
        night = live_stack.wait_for_run(NIGHTLY, "scheduled", timeout=150,
                                        state=("running", "success", "failed"))
        night_id = night["dag_run_id"]
        after = dt.datetime.fromisoformat(night["run_after"].replace("Z", "+00:00"))
        assert after.second == 0 and after.microsecond == 0  # the cron's minute, not a click

        # (b) once the night has cataloged the folder: a new file, and another preset's
        # scan catalogs it; its Asset event queues an asset-triggered run (after the night:
        # one active run at a time)
        assert wait_until(lambda: _task_state(live_stack, NIGHTLY, night_id, "scan_data")
                          == "success", 120, 1, "scan_data of the scheduled night")
        (data / "math").mkdir()
        (data / "math" / "extra.json").write_text(json.dumps(
            [{"problem": f"{a}+{b}", "answer": str(a + b)} for a in range(5) for b in range(5)]))
        second = live_stack.trigger(SOURCE, {"data_folder": str(data)})

        assert live_stack.wait_run(NIGHTLY, night_id, timeout=300) == "success"
        detection = _read(_folder(NIGHTLY, night_id).incremental)
        entry = detection["models"]["logic_model"]
        assert detection["proceed"] and not entry["skip"], detection
        assert entry["source"] == "champion" and str(entry["champion_version"]) == version
        assert entry["new_files"] == 1  # night_1.jsonl; propositions.jsonl was the champion's
        result = _folder(NIGHTLY, night_id).round("logic_model", 1).read_result()
        inc = result["incremental"]
        assert inc["mode"] == "finetune" and str(inc["champion_version"]) == version, inc
        counts, record = inc["counts"], inc["record"]
        assert counts["new_test"] >= 30 and counts["new_train"] > 0 and counts["old_test"] > 0
        # before (champion) and after (candidate) on the same old and new test rows
        for side, n in (("new", counts["new_test"]), ("old", counts["old_test"])):
            paired = record[side]
            assert paired["n"] == n and paired["test"] == "mcnemar"
            assert paired["metric_a"] == pytest.approx(inc["before"][side])
            assert paired["metric_b"] == pytest.approx(inc["after"][side])
            assert paired["ci_a"][0] <= paired["metric_a"] <= paired["ci_a"][1]
            assert paired["ci_b"][0] <= paired["metric_b"] <= paired["ci_b"][1]
            assert 0 <= paired["p_value"] <= 1
        assert inc["verdict"] in ("accepted", "rejected", "no change needed")
        assert f"new data: {counts['new_test']} rows, accuracy champion" in inc["reason"]
        report = _report(NIGHTLY, night_id)
        assert report["incremental"]["models"]["logic_model"]["record"] == record
        decided = _read(_folder(NIGHTLY, night_id).registry)["logic_model"]
        if inc["verdict"] == "no change needed":
            assert decided.get("version") is None
        else:
            tags = client.get_version("logic_model", str(decided["version"])).tags
            assert tags["incremental_verdict"] == inc["verdict"]
            assert tags["incremental_new_rows"] == str(counts["new_test"])

        assert live_stack.wait_run(SOURCE, second, timeout=300) == "success"
        assert _read(_folder(SOURCE, second).scan)["new"] == 1  # math/extra.json
        asset = live_stack.wait_for_run(NIGHTLY, "asset_triggered", timeout=300)
        assert asset["state"] == "success"
        events = live_stack.api.upstream_asset_events(NIGHTLY, asset["dag_run_id"])
        assert any(e["source_dag_id"] == SOURCE and e["source_run_id"] == second
                   and e["source_task_id"] == "scan_data"
                   and e["name"] == f"catalog:{data.resolve()}" for e in events), events
        # its new file is math data, and the logic model's new file was judged by the night
        detection = _read(_folder(NIGHTLY, asset["dag_run_id"]).incremental)
        assert detection["proceed"] is False and detection["message"].startswith("nothing new")
        # nothing trained, yet the night is reported and its MLflow parent run closed
        report = _report(NIGHTLY, asset["dag_run_id"])
        assert report["incremental"]["detection"]["proceed"] is False and not report["problems"]
        assert report["evaluation"]["logic_model"]["status"] == "skipped"
        parent = tracking.run_ids(_folder(NIGHTLY, asset["dag_run_id"]).path)["parent"]
        assert tracking.get_run(parent).info.status == "FINISHED"
    finally:
        live_stack.api.pause(NIGHTLY)  # no more runs each minute for the tests after this one
