"""MLflow tracking: a parent run per DAG run, a child run per model and round.

Run ids are kept in the run folder (`mlflow.json`), so a retried task logs into the
same MLflow run instead of starting a new one, and every stage can find them.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from training_lib import settings
from training_lib.errors import RegistryError
from training_lib.runs.folder import RunFolder
from training_lib.registry.client import ALREADY_EXISTS, call, client, error_code, translated

if TYPE_CHECKING:
    from mlflow.entities import Run

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
# MLflow 3's UI files an experiment as GenAI or model training by this tag (the value its
# experiment-kind selector writes; mlflow/server/js, `ExperimentKind` in mlflow 3.17).
# Untagged, the UI infers a kind and may open the GenAI view ("Traces 0 / No data").
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"


def experiment_id(name: str) -> str:
    """The experiment of a DAG (one per preset), created on first use and tagged as a
    model-training experiment (an existing one is re-tagged when first used)."""
    found = call("reading experiment", repr(name), lambda: client().get_experiment_by_name(name))
    if found is not None:
        _ensure_training_kind(found)
        return found.experiment_id
    location = None
    if not settings.mlflow_tracking_uri().startswith(("http://", "https://")):
        location = (settings.mlflow_artifacts_dir() / name).as_uri()
    with translated("creating experiment", repr(name)):
        try:
            return client().create_experiment(name, artifact_location=location,
                                              tags={EXPERIMENT_KIND_TAG: MODEL_TRAINING_KIND})
        except Exception as e:
            if error_code(e) != ALREADY_EXISTS:
                raise
    # created concurrently by a parallel task
    found = call("reading experiment", repr(name), lambda: client().get_experiment_by_name(name))
    if found is None:
        raise RegistryError(f"experiment {name!r} was reported as existing but cannot be "
                            f"read from {settings.mlflow_tracking_uri()!r}")
    _ensure_training_kind(found)
    return found.experiment_id


def _ensure_training_kind(experiment: Any) -> None:
    """Tag an experiment made before the tag existed, or one the UI inferred as GenAI."""
    kind = (experiment.tags or {}).get(EXPERIMENT_KIND_TAG)
    if kind == MODEL_TRAINING_KIND:
        return
    log.info("experiment %r: %s %r -> %r", experiment.name, EXPERIMENT_KIND_TAG, kind,
             MODEL_TRAINING_KIND)
    call(f"tagging {EXPERIMENT_KIND_TAG} of experiment", repr(experiment.name),
         lambda: client().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG,
                                             MODEL_TRAINING_KIND))


def create_run(experiment: str, run_name: str | None = None,
               tags: dict[str, str] | None = None) -> str:
    """A new run in the experiment named `experiment` (created if needed); its id."""
    exp = experiment_id(experiment)
    run = call("creating a run in experiment", repr(experiment),
               lambda: client().create_run(exp, run_name=run_name, tags=tags or {}))
    return run.info.run_id


def _ids_path(run_dir: Path) -> Path:
    return RunFolder(run_dir).mlflow


def _read_ids(run_dir: Path) -> dict[str, str]:
    path = _ids_path(run_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def _write_id(run_dir: Path, key: str, value: str) -> None:
    with _LOCK:
        ids = _read_ids(run_dir)
        ids[key] = value
        tmp = _ids_path(run_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(ids, indent=2))
        tmp.replace(_ids_path(run_dir))


def parent_run_id(run_dir: Path, *, experiment: str, run_name: str,
                  tags: dict[str, str]) -> str:
    """The MLflow run standing for the whole DAG run (created once)."""
    existing = _read_ids(run_dir).get("parent")
    if existing:
        return existing
    run_id = create_run(experiment, run_name, {**tags, "host": settings.host_name()})
    _write_id(run_dir, "parent", run_id)
    return run_id


def child_run_id(run_dir: Path, key: str, *, experiment: str, run_name: str,
                 tags: dict[str, str]) -> str:
    """A model's run under the parent (created once, reused by retries)."""
    ids = _read_ids(run_dir)
    if key in ids:
        return ids[key]
    parent = ids.get("parent")
    run_tags = dict(tags)
    if parent:
        run_tags["mlflow.parentRunId"] = parent
    run_id = create_run(experiment, run_name, run_tags)
    _write_id(run_dir, key, run_id)
    return run_id


def run_ids(run_dir: Path) -> dict[str, str]:
    return _read_ids(run_dir)


def get_run(run_id: str) -> "Run | None":
    return call("reading run", repr(run_id), lambda: client().get_run(run_id), missing_ok=True)


def log_params(run_id: str, params: dict[str, Any]) -> None:
    from mlflow.entities import Param

    flat = flatten(params)
    items = [Param(k, str(v)[:6000]) for k, v in flat.items()]
    for start in range(0, len(items), 100):
        call("logging params of run", repr(run_id),
             lambda: client().log_batch(run_id, params=items[start:start + 100]))


def set_tags(run_id: str, tags: dict[str, str]) -> None:
    from mlflow.entities import RunTag

    call("tagging run", repr(run_id),
         lambda: client().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()]))


def log_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    now = int(time.time() * 1000)
    log_metric_rows(run_id, [(k, float(v), now, step) for k, v in metrics.items()])


def log_metric_rows(run_id: str, rows: Iterable[tuple[str, float, int, int]]) -> None:
    """(key, value, timestamp ms, step) rows in one synchronous batch (at most 1000)."""
    from mlflow.entities import Metric

    metrics = [Metric(key, value, timestamp, step) for key, value, timestamp, step in rows]
    call("logging metrics of run", repr(run_id),
         lambda: client().log_batch(run_id, metrics=metrics, synchronous=True))


def get_metric_history(run_id: str, key: str) -> list[Any]:
    """Every logged value of metric `key` of a run (empty when there are none)."""
    found = call(f"reading metric {key!r} of run", repr(run_id),
                 lambda: client().get_metric_history(run_id, key), missing_ok=True)
    return list(found or [])


def log_artifact(run_id: str, path: Path, artifact_path: str | None = None) -> None:
    call(f"logging artifact {str(path)!r} to run", repr(run_id),
         lambda: client().log_artifact(run_id, str(path), artifact_path=artifact_path))


def finish_run(run_id: str, status: str = "FINISHED") -> None:
    call(f"marking {status} the run", repr(run_id),
         lambda: client().set_terminated(run_id, status))


def mark_run_failed(run_id: str, cause: str, failed_task: str | None = None) -> None:
    """End a run FAILED with its cause as tags and as the run's description (the note the
    MLflow UI shows on the run page)."""
    tags = {"failure.cause": cause[:5000], "mlflow.note.content": cause[:5000]}
    if failed_task:
        tags["failure.task"] = failed_task
    set_tags(run_id, tags)
    finish_run(run_id, "FAILED")


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def log_dataset(run_id: str, data_root: Path, fingerprint: str, n_files: int) -> None:
    """Record the catalog fingerprint as the run's dataset input."""
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import DatasetInput, InputTag

    dataset = MetaDataset(LocalArtifactDatasetSource(str(data_root)), name=data_root.name,
                          digest=fingerprint[:36])
    entity = DatasetInput(dataset=dataset._to_mlflow_entity(),
                          tags=[InputTag("mlflow.data.context", "training"),
                                InputTag("files", str(n_files))])
    with translated("logging the dataset input of run", repr(run_id)):
        client().log_inputs(run_id, [entity])
        client().set_tag(run_id, "dataset_fingerprint", fingerprint)


def system_metrics_monitor(run_id: str, resume: bool = False, interval: float = 5.0) -> Any | None:
    """MLflow's CPU/memory/disk/network (and GPU via pynvml) sampler for a run, started."""
    try:
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        monitor = SystemMetricsMonitor(run_id, sampling_interval=interval, resume_logging=resume,
                                       tracking_uri=settings.mlflow_tracking_uri())
        monitor.start()
        return monitor
    except Exception as e:  # monitoring must never stop training
        log.warning("system metrics monitoring unavailable: %s", e)
        return None


def log_keras_model(run_id: str, model: Any, example: Any) -> str:
    """Log the trained model with its signature and an input example; returns its URI."""
    import mlflow
    from mlflow.models import infer_signature

    prediction = model.predict(example, verbose=0)
    with translated("logging the Keras model of run", repr(run_id)):
        client()  # points the fluent API at our store
        with mlflow.start_run(run_id=run_id), _example_dir_fix():
            info = mlflow.keras.log_model(
                model, name="model", signature=infer_signature(example, prediction),
                input_example=example, pip_requirements=_model_requirements())
    link_model_to_parent(run_id, info.model_id)
    return info.model_uri


def link_model_to_parent(run_id: str, model_id: str) -> str | None:
    """Log a child run's model as an output of its parent run too; the parent's id.

    MLflow 3's UI lists a run without model outputs (`run.outputs.modelOutputs`) under
    "Evaluation runs"; the parent run stands for the DAG run that produced the models, so
    it carries them and is shown as a training run."""
    from mlflow.entities import LoggedModelOutput

    run = get_run(run_id)
    parent = run.data.tags.get("mlflow.parentRunId") if run is not None else None
    if not parent:
        return None
    call("logging the model output of parent run", repr(parent),
         lambda: client().log_outputs(parent, [LoggedModelOutput(model_id, step=0)]))
    return parent


@contextlib.contextmanager
def _example_dir_fix() -> Iterator[None]:
    """mlflow 3.17's keras flavor writes the input example before it creates the model
    folder (FileNotFoundError .../model/input_example.json); create the folder first."""
    import mlflow.keras.save as keras_save

    original = keras_save._save_example

    def save_example(mlflow_model: Any, input_example: Any, path: str, *args: Any,
                     **kwargs: Any) -> Any:
        os.makedirs(path, exist_ok=True)
        return original(mlflow_model, input_example, path, *args, **kwargs)

    keras_save._save_example = save_example
    try:
        yield
    finally:
        keras_save._save_example = original


def _model_requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for package in ("keras", "tensorflow-cpu", "numpy"):
        try:
            reqs.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return reqs
