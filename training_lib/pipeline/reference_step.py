"""After the Keras model: its classical reference, and likely mislabeled training files.

The reference (training/references/) is fitted on the same train split and scored on
the same test split, with the same metric; its score, description and cost go to the
model's result.json (`reference`, `reference_model`, `reference_seconds`) and to its
MLflow run (`reference_<metric>`, `reference_seconds`), where promotion's gate reads
them. For a classifier whose rows are files, the reference is also cross-validated on
the train split to flag likely mislabeled files (cleanlab): label_issues.json in the
round folder, an MLflow artifact, and a count in the result.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from training_lib.data.dataset import Dataset
from training_lib.data.records import FileRecord
from training_lib.runs.files import write_json

# `job` below is the worker's TrainingJob (not imported: the worker imports this module)

log = logging.getLogger(__name__)
# BLAS/OpenMP threads of the references: at their sizes a second thread only adds
# contention (the controller's gradient boosting: 0.4 s on one thread, 2.8 s on two
# busy cores)
REFERENCE_THREADS = 1


def reference_step(job: Any, dataset: Dataset, outcome: dict[str, Any]) -> dict[str, Any]:
    """The result keys of the reference and of the label-issue search (see module doc)."""
    from training_lib.registry import tracking
    from training_lib.training.references.registry import run_reference

    task, metric = outcome["task"], outcome["metric"]
    try:
        ref = run_reference(job.spec.loader, dataset, task, threads=REFERENCE_THREADS)
    except ValueError as e:  # e.g. a feature the estimator cannot take: recorded, not hidden
        log.warning("%s: the reference failed: %s", job.model, e)
        return {"reference": None, "reference_error": f"{type(e).__name__}: {e}"[:500]}
    if ref is None:
        return {"reference": None, "reference_error": f"no reference for loader "
                                                      f"{job.spec.loader!r}"}
    out = {"reference": ref["metric"], "reference_model": ref["model"],
           "reference_seconds": round(ref["seconds"], 3)}
    log.info("%s: reference %s %.4f (%s) in %.2f s; model %.4f in %.1f s", job.model, metric,
             ref["metric"], ref["model"], ref["seconds"], outcome["test_metric"],
             outcome.get("seconds") or 0.0)
    tracking.log_metrics(job.run_id, {f"reference_{metric}": ref["metric"],
                                      "reference_seconds": ref["seconds"]},
                         step=outcome.get("global_step") or 0)
    tracking.set_tags(job.run_id, {"reference_model": ref["model"]})
    issues = label_issues_step(job, dataset, task)
    if issues is not None:
        out["label_issues"] = issues
    return out


def file_paths(job: Any) -> dict[str, list[str]]:
    """Content hash -> the manifest's paths with that content (a sample key of a file)."""
    data = json.loads(job.ctx.folder.manifest(job.model).read_text())
    paths: dict[str, list[str]] = {}
    for item in data["files"]:
        rec = FileRecord.from_json(item)
        paths.setdefault(rec.content_hash, []).append(rec.path)
    return paths


def label_issues_step(job: Any, dataset: Dataset, task: str) -> dict[str, Any] | None:
    """Flag likely mislabeled training files; the result's summary of them (None: the
    model is no classifier, or its rows are records rather than files)."""
    from training_lib.registry import tracking
    from training_lib.training.references.label_issues import find_label_issues

    if (dataset.info.get("task") or task) != "classification":
        return None
    keys, paths = dataset.keys.get("train") or [], file_paths(job)
    if not keys or not all(k in paths for k in keys):
        return {"skipped": "its training rows are records, not files"}
    found = find_label_issues(job.spec.loader, dataset, task, paths=paths,
                              threads=REFERENCE_THREADS)
    if found is None:
        return {"skipped": "no reference with class probabilities, or too few rows per class"}
    folder = job.folder
    write_json(folder.label_issues, {"model": job.model, "round": job.round_index, **found})
    tracking.log_artifact(job.run_id, folder.label_issues)
    log.info("%s: %d of %d training files look mislabeled (%s, %.2f s)", job.model,
             found["n_flagged"], found["n_train"], folder.label_issues, found["seconds"])
    return {"n_flagged": found["n_flagged"], "n_train": found["n_train"],
            "seconds": found["seconds"], "path": str(folder.label_issues)}
