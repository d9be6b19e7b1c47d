"""Register every trained model as a version of the registered model of its name."""
from __future__ import annotations

import json
import logging
from typing import Any

from training_lib.errors import RegistryError
from training_lib.pipeline.run import RunContext
from training_lib.registry import tracking

log = logging.getLogger(__name__)


def ensure_registered_model(name: str, description: str = "") -> None:
    c = tracking.client()
    try:
        c.get_registered_model(name)
    except Exception:
        try:
            c.create_registered_model(name, description=description)
        except Exception as e:  # created concurrently
            try:
                c.get_registered_model(name)
            except Exception:
                raise RegistryError(f"cannot create registered model {name!r}: {e}") from e


def register_version(ctx: RunContext, model: str, result: dict[str, Any],
                     fingerprint: str) -> dict[str, Any]:
    """Create the version with its lineage tags; returns {"version": .., "tags": ..}."""
    ensure_registered_model(model, result.get("description", ""))
    tags = {**ctx.tags(), "model": model, "dataset_fingerprint": fingerprint,
            f"test_{result['metric']}": f"{result['test_metric']:.6f}",
            f"baseline_{result['metric']}": f"{result['baseline']:.6f}",
            "train_rows": str(result["sizes"]["train"]), "test_rows": str(result["sizes"]["test"]),
            "source_files": str(result["sources"])}
    if result.get("classes"):
        tags["classes"] = json.dumps(result["classes"])[:5000]
    if result.get("frozen_metric") is not None:
        tags[f"frozen_{result['metric']}"] = f"{result['frozen_metric']:.6f}"
    try:
        import mlflow

        tracking.client()  # points the fluent API at our store
        # register_model resolves a logged model's URI (models:/m-...) to its artifact
        # location and model id, which the REST store requires
        version = mlflow.register_model(result["model_uri"], model, tags=tags)
        tracking.client().update_model_version(model, version.version,
                                               description=f"{ctx.dag_id} / {ctx.run_id}")
    except Exception as e:
        raise RegistryError(f"cannot register {model!r} from {result.get('model_uri')!r}: {e}") from e
    return {"version": str(version.version), "tags": tags}


def register_run_models(ctx: RunContext, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from training_lib.registry.promotion import decide_and_apply

    fingerprint = (ctx.read_json("scan.json", {}) or {}).get("fingerprint", "")
    decisions: dict[str, Any] = {}
    for model, result in sorted(results.items()):
        registered = register_version(ctx, model, result, fingerprint)
        decision = decide_and_apply(ctx, model, registered["version"], result)
        decisions[model] = {**registered, **decision}
        log.info("%s: version %s -> %s (%s)", model, registered["version"], decision["tag"],
                 decision["reason"])
    return decisions
