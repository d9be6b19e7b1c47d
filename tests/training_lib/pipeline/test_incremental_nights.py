"""Nights of the incremental preset through the real stages and worker on tiny logic data:
a champion trained in full, a night with too few new test rows (waiting, nothing trained),
then a night with enough: the fine-tune is judged against the champion on the same rows
and the decision record reaches result.json, the registry and the report."""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from training_lib.errors import NoDataForModel
from training_lib.pipeline import stages
from training_lib.registry import client
from training_lib.registry.promotion import move_alias
from training_lib.runs.context import start_run
from training_lib.runs.outcome import incremental_skip_reason, model_results

from tests.fixtures.tiny_data import _proposition

LOGIC = "logic/propositions.jsonl"


def _add_records(data: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        text = _proposition(rng, 3)
        rows.append(json.dumps({"proposition": text, "answer": bool(eval(text))}))  # noqa: S307
    with open(data / LOGIC, "a") as fh:
        fh.write("\n" + "\n".join(rows))


def _run(data: Path, preset: str, run_id: str):
    from training_lib.data.records import FileRecord

    ctx = start_run(preset, run_id, preset, {"data_folder": str(data)})
    body = (data / LOGIC).read_bytes()
    record = FileRecord(LOGIC, len(body), 0, hashlib.sha256(body).hexdigest(), "json", "jsonl",
                        meta={"record_format": "proposition",
                              "n_records": body.count(b"\n") + 1})
    ctx.write_json(ctx.folder.routing, {"models": ["logic_model"], "left_out": {}})
    ctx.write_json(ctx.folder.manifest("logic_model"),
                   {"model": "logic_model", "files": [record.to_json()]})
    return ctx


def test_waiting_then_a_judged_fine_tune(logic_data):
    champion_run = _run(logic_data, "resume_logic", "full-1")
    stages.allocate_resources(champion_run)
    stages.train_model(champion_run, "logic_model")
    stages.evaluate(champion_run)
    version = stages.register_versions(champion_run)["versions"]["logic_model"]
    move_alias("logic_model", "champion", version, "the champion these nights start from")

    _add_records(logic_data, 40, seed=1)  # ~6 new test rows: too few
    night = _run(logic_data, "incremental_logic", "night-1")
    assert stages.detect_new_data(night)["models_with_new_data"] == ["logic_model"]
    entry = night.read_json(night.folder.incremental)["models"]["logic_model"]
    assert entry["source"] == "champion" and entry["champion_version"] == version
    stages.allocate_resources(night)
    with pytest.raises(NoDataForModel, match=r"new test rows < 30: waiting for more new data"):
        stages.train_model(night, "logic_model")
    assert model_results(night) == {} and not night.round("logic_model").model_file.exists()
    assert "waiting for more new data" in incremental_skip_reason(night, "logic_model")
    assert stages.evaluate(night)["trained"] == []  # a waiting night is not a failed run
    assert night.read_json(night.folder.evaluation)["logic_model"]["status"] == "skipped"

    _add_records(logic_data, 900, seed=2)  # with the 40 earlier ones (still new): > 30 rows
    night = _run(logic_data, "incremental_logic", "night-2")
    stages.detect_new_data(night)
    stages.allocate_resources(night)
    stages.train_model(night, "logic_model")
    result = model_results(night)["logic_model"]
    inc = result["incremental"]
    assert inc["mode"] == "finetune" and inc["champion_version"] == version
    assert inc["counts"]["new_test"] >= 30 and inc["counts"]["new_train"] > 0
    record = inc["record"]
    assert record["new"]["n"] == inc["counts"]["new_test"]
    assert record["old"]["n"] == inc["counts"]["old_test"]
    assert record["new"]["test"] == "mcnemar" and 0 <= record["new"]["p_value"] <= 1
    assert inc["verdict"] in ("accepted", "rejected", "no change needed")
    assert f"new data: {record['new']['n']} rows, accuracy champion" in inc["reason"]

    stages.evaluate(night)
    decision = stages.register_versions(night)["versions"]["logic_model"]
    registry = night.read_json(night.folder.registry)["logic_model"]
    if inc["verdict"] == "no change needed":
        assert decision is None
        assert client.get_version("logic_model", version).tags[
            "incremental_check_verdict"] == "no change needed"
    else:
        tags = client.get_version("logic_model", decision).tags
        assert tags["incremental_verdict"] == inc["verdict"]
        assert tags["incremental_new_rows"] == str(record["new"]["n"])
        assert registry["tag"] == ("release" if inc["accepted"] else "rejected")
