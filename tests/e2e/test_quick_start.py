"""One full `dag.test()` of quick_start on tiny real data: every task succeeds and every
artifact is real (MLflow metrics, a registered version, report files that parse)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_quick_start_runs_end_to_end(tiny_data, airflow_db):
    from tlib_airflow.dag_builder import build_dag
    from training_lib.config import load_preset
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder
    from training_lib.registry import tracking

    preset = load_preset("quick_start")
    dag = build_dag(preset)
    dag_run = dag.test(run_conf={"data_folder": str(tiny_data), "epochs": 2})
    states = {ti.task_id: str(getattr(ti.state, "value", ti.state))
              for ti in dag_run.get_task_instances()}
    assert states and set(states.values()) == {"success"}, states

    run = RunFolder(run_dir_for("quick_start", dag_run.run_id))
    evaluation = json.loads(run.evaluation.read_text())
    assert set(evaluation) == {"vision_service", "math_model", "logic_model"}
    client = tracking.client()
    for model, row in evaluation.items():
        assert row["status"] == "trained"
        mlflow_run = client.get_run(row["mlflow_run_id"])
        assert mlflow_run.data.tags["model"] == model
        assert mlflow_run.data.tags["preset"] == "quick_start"
        history = client.get_metric_history(row["mlflow_run_id"], "epoch_loss")
        assert len(history) == 2 and all(m.value == m.value for m in history)  # one per epoch
        test_metric = client.get_run(row["mlflow_run_id"]).data.metrics[f"test_{row['metric']}"]
        assert test_metric == row["test"]
        versions = client.search_model_versions(f"name='{model}'")
        assert versions, f"no registered version of {model}"
        assert versions[0].tags["dag_id"] == "quick_start"
        result = run.round(model, 1).read_result()
        assert result["epochs"] == 2 and result["global_step"] > 0
        assert any(run.round(model, 1).checkpoints.glob("ckpt-*.npz"))

    assert_registered_metrics_recompute(run.path, evaluation)

    report = json.loads(next(run.report_dir.glob("training_report_*.json")).read_text())
    assert report["evaluation"] == evaluation
    png = next(run.report_dir.glob("training_progress_*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def recompute(task: str, predicted, y_test) -> float:
    """The task's test metric, with scikit-learn, from the predictions."""
    import numpy as np
    from sklearn.metrics import accuracy_score, r2_score

    predicted, y_test = np.asarray(predicted), np.asarray(y_test)
    if task == "classification":
        return float(accuracy_score(y_test, predicted.argmax(axis=-1)))
    if task == "seq2seq":  # exact match: the whole answer, compared as a string
        text = lambda rows: [" ".join(map(str, row)) for row in rows]  # noqa: E731
        return float(accuracy_score(text(y_test), text(predicted.argmax(axis=-1))))
    n = len(y_test)
    return float(r2_score(y_test.reshape(n, -1).astype("float64"),
                          predicted.reshape(n, -1).astype("float64"),
                          multioutput="variance_weighted"))


def assert_registered_metrics_recompute(run_dir, evaluation: dict) -> None:
    """Each registered version, loaded back from the registry, scores on the run's test split
    exactly what the run recorded (evaluation.json, result.json and the version's tag)."""
    import keras

    import training_lib.models.blocks  # noqa: F401  (custom layers, before loading)
    from training_lib.pipeline.worker import TrainingJob, prepare_dataset
    from training_lib.registry.client import get_version, load_keras_model
    from training_lib.runs.context import load_run

    ctx = load_run(run_dir)
    registry = json.loads(ctx.folder.registry.read_text())
    for model, row in evaluation.items():
        version = registry[model]["version"]
        result = ctx.round(model, 1).read_result()
        # the test split the worker evaluated on, rebuilt the way the worker builds it
        keras.utils.set_random_seed(ctx.settings.seed)
        dataset = prepare_dataset(TrainingJob.create(ctx, model, 1, plan=None))
        saved_keys = json.loads(ctx.round(model, 1).dataset_keys.read_text())
        assert dataset.keys.get("test") == saved_keys.get("test"), model
        loaded = load_keras_model(model, version)
        predicted = loaded.predict(dataset.x["test"], batch_size=256, verbose=0)
        metric = recompute(result["task"], predicted, dataset.y["test"])
        assert metric == pytest.approx(row["test"], abs=1e-6), model
        assert metric == pytest.approx(result["test_metric"], abs=1e-6), model
        tag = get_version(model, version).tags[f"test_{row['metric']}"]
        assert metric == pytest.approx(float(tag), abs=1e-6), model
