"""Every preset is a DAG that loads; parsing stays cheap; a broken preset breaks only itself."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from training_lib.config import list_presets, load_preset

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors_and_one_dag_per_preset(dagbag):
    assert dagbag.import_errors == {}
    assert set(list_presets(ROOT / "presets")) <= set(dagbag.dags)


def _edges(dag) -> set[tuple[str, str]]:
    return {(t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids}


@pytest.mark.parametrize("name", list_presets(ROOT / "presets"))
def test_structure_per_preset(dagbag, name):
    dag = dagbag.dags[name]
    preset = load_preset(name, ROOT / "presets")
    s = preset.settings
    models = preset.models or None
    edges = _edges(dag)
    assert ("scan_data", "validate_data") in edges
    if s.incremental:  # short-circuits when nothing is new
        assert ("validate_data", "detect_new_data") in edges
        assert ("detect_new_data", "allocate_resources") in edges
        # a short circuit that skips the trainings only: evaluate and the report still run
        assert dag.get_task("detect_new_data").ignore_downstream_trigger_rules is False
    else:
        assert ("validate_data", "allocate_resources") in edges
    assert ("evaluate", "register_versions") in edges
    assert ("register_versions", "render_report") in edges
    trains = sorted(t.task_id for t in dag.tasks if t.task_id.endswith(".train"))
    groups = {t.rsplit(".", 1)[0] for t in trains}
    if models:
        expected = {m if s.rounds == 1 else f"round_{r}_{m}" for m in models
                    for r in range(1, s.rounds + 1)}
        assert groups == expected
    for group in groups:
        assert (f"{group}.wait_for_resources", f"{group}.train") in edges
        sensor = dag.get_task(f"{group}.wait_for_resources")
        assert sensor.mode == "reschedule"
        train = dag.get_task(f"{group}.train")
        assert train.retries == s.retries
        assert train.pool in ("tlib_cpu", "tlib_gpu")
    first_round = [g for g in groups if s.rounds == 1 or g.startswith("round_1_")]
    for group in first_round:
        assert ("allocate_resources", f"{group}.wait_for_resources") in edges
    last_round = [g for g in groups if s.rounds == 1 or g.startswith(f"round_{s.rounds}_")]
    for group in last_round:
        assert (f"{group}.train", "evaluate") in edges
    for r in range(1, s.rounds):
        share = f"share_knowledge_{r}"
        for group in (g for g in groups if g.startswith(f"round_{r}_")):
            assert (f"{group}.train", share) in edges
        for group in (g for g in groups if g.startswith(f"round_{r + 1}_")):
            assert (share, f"{group}.wait_for_resources") in edges
    assert dag.dag_id == name
    assert set(s.tags) <= set(dag.tags)
    assert s.description.split()[0] in dag.doc_md
    assert "data_folder" in dag.params and "epochs" in dag.params


def test_schedule_comes_from_preset(dagbag):
    nightly = dagbag.dags["incremental_learning"].timetable  # cron OR new data cataloged
    assert nightly.timetable.expression == "0 2 * * *"
    asset = next(iter(nightly.asset_condition.objects))
    assert asset.name.startswith("catalog:")
    producers = [t for t in dagbag.dags["quick_start"].tasks if t.task_id == "scan_data"]
    assert producers[0].outlets == [asset]  # other presets' scans announce new data
    own_scan = dagbag.dags["incremental_learning"].get_task("scan_data")
    assert own_scan.outlets == []
    assert type(dagbag.dags["quick_start"].timetable).__name__ == "NullTimetable"


def test_urgent_small_models_get_higher_priority(dagbag, tmp_path):
    from tlib_airflow.dag_builder import priority_weight

    preset = load_preset("comprehensive_training", ROOT / "presets")
    assert priority_weight(preset, "logic_model") > priority_weight(preset, "vision_service")
    urgent = preset.with_overrides(models={"vision_service": {"urgency": 9}})
    assert priority_weight(urgent, "vision_service") > priority_weight(preset, "logic_model")


def test_broken_preset_is_an_import_error_of_its_own_file_only(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    presets = tmp_path / "presets"
    dags = tmp_path / "dags"
    shutil.copytree(ROOT / "presets", presets)
    shutil.copytree(ROOT / "dags", dags)
    shutil.copy(FIXTURES / "presets" / "broken_types.yaml", presets / "broken_types.yaml")
    shutil.copy(dags / "quick_start.py", dags / "broken_types.py")
    monkeypatch.setenv("TLIB_PRESETS_DIR", str(presets))
    bag = DagBag(dag_folder=str(dags))
    assert list(bag.import_errors) == [str(dags / "broken_types.py")]
    error = bag.import_errors[str(dags / "broken_types.py")]
    assert "broken_types.yaml" in error
    assert "key 'target_models[1]': got 'math_modle'" in error
    assert "key 'epochs': got 'ten'" in error
    assert set(list_presets(ROOT / "presets")) <= set(bag.dags)


def test_hostile_presets_are_import_errors_not_hangs_or_crashes(tmp_path):
    """Bombs and 100,000 nested `[` once hung or segfaulted the parser; each must now be a
    short import error of its own DAG file. A child process keeps a regression from taking
    pytest down with it."""
    presets, dags = tmp_path / "presets", tmp_path / "dags"
    shutil.copytree(ROOT / "presets", presets)
    dags.mkdir()
    shutil.copy(ROOT / "dags" / "quick_start.py", dags / "quick_start.py")
    hostile = sorted((FIXTURES / "presets" / "hostile").glob("*.yaml"))
    for path in hostile:
        shutil.copy(path, presets / path.name)
        shutil.copy(dags / "quick_start.py", dags / f"{path.stem}.py")
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'plugins')!r}]\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(dags)!r})\n"
        "print(json.dumps({'dags': sorted(bag.dags), 'errors': bag.import_errors}))\n"
    )
    env = {**os.environ, "TLIB_PRESETS_DIR": str(presets)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dags"] == ["quick_start"]
    errors = {Path(file).stem: text for file, text in result["errors"].items()}
    assert sorted(errors) == [path.stem for path in hostile]
    expected = {
        "alias_bomb_tags": "invalid YAML: line 6: more than 20000 values once aliases",
        "billion_laughs": "invalid YAML: line 8: more than 20000 values once aliases",
        "deep_nesting": "invalid YAML: line 3: nested deeper than 20 levels",
        "duplicate_keys": "invalid YAML: key 'epochs' is set twice: line 3 and line 5",
        "foreign_entry": "key 'custom_models.mine.entry': got 'this.x:f'",
        "infinite_delay": "key 'retry_delay_seconds': got Infinity (float); expected a finite",
        "never_fires": "key 'schedule': got '0 0 30 2 *' (str); expected a cron",
    }
    for name, text in errors.items():
        assert f"PresetError: {presets / name}.yaml: {expected[name]}" in text, text[-300:]
        assert len(text) < 3000, name  # the traceback and one short message


def test_parsing_imports_no_heavy_library():
    code = (
        "import sys, json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "heavy = ['tensorflow', 'keras', 'mlflow', 'great_expectations', 'pandas', 'matplotlib']\n"
        "print(json.dumps({'errors': len(bag.import_errors), 'dags': len(bag.dags),\n"
        "                  'heavy': [m for m in heavy if m in sys.modules]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0 and result["dags"] >= 18
    assert result["heavy"] == []


def test_rollback_dag_offers_models_and_versions(dagbag):
    dag = dagbag.dags["rollback"]
    assert [t.task_id for t in dag.tasks] == ["rollback"]
    assert {"model", "version", "reason"} <= set(dag.params)
    from training_lib.config.model_specs import MODELS
    from training_lib.registry.model_index import rollback_choices

    # registered models with an earlier version (tests/plugins/test_rollback_dag.py), else
    # the built-in names
    offered = dag.params.get_param("model").schema["examples"]
    assert offered == (list(rollback_choices()) or sorted(MODELS))
