"""Skip unchanged work: a model whose inputs are the same as in an earlier run of the
same preset reuses that run's trained model and registered version.

A model's *input fingerprint* hashes what its training reads:

- `manifest`: the files routed to it (path, content hash, type, label, split, flags,
  meta; not the mtime: a touched file with the same bytes is unchanged);
- `settings`: the resolved preset as it applies to the model (its own `models.<name>`
  and group overrides, not other models', nor keys that only schedule or describe the
  run: description, tags, schedule, retries, timeouts, urgency, target_models, data_root);
- `code`: the source files of the model's builder and of its loader, with the modules of
  their own packages that they import (`training_lib.models.blocks`, ...);
- `preprocessing` and `seed`.

After `register_versions`, every model trained and registered by a run is written to the
preset's index, `<store>/reuse/<preset>.json` (fingerprint, run, round, version). The
train task of a later run computes the fingerprint again; when it is equal, the earlier
result and model file are still there and the registry still holds the version with the
same MLflow run, the model is not trained: its round gets a copy of the earlier
result.json marked `reused` (evaluate, register and the report read it like any other;
nothing is registered again). Not reused: incremental presets (they fine-tune on new
data), collaborative rounds (they depend on the peers), and any run triggered with
`force_retrain`. The trainer's own code (training/) and the machine's resource plan are
not part of the fingerprint: after changing them, trigger with `force_retrain`.
"""
from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import Any, Iterator

from training_lib import settings
from training_lib.config.model_specs import GROUPS
from training_lib.runs.context import RunContext
from training_lib.runs.files import read_json, write_json

log = logging.getLogger(__name__)

# keys that schedule, describe or locate the run; they do not change what a model learns
NOT_INPUTS = frozenset({"name", "description", "tags", "schedule", "retries",
                        "retry_delay_seconds", "resource_wait_timeout_seconds",
                        "stall_timeout_seconds", "execution_timeout_minutes", "urgency",
                        "target_models", "data_root", "promotion", "preprocessing", "seed"})
_MAX_CODE_FILES = 64  # a builder importing half the project is still hashed in bounded time


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def manifest_digest(files: list[dict[str, Any]]) -> str:
    """Hash of the routed files, in path order, without their modification times."""
    rows = sorted(({k: v for k, v in f.items() if k != "mtime_ns"} for f in files),
                  key=lambda f: str(f.get("path")))
    return _digest(rows)


def model_settings(resolved: dict[str, Any], model: str) -> dict[str, Any]:
    """The resolved preset as it applies to `model` (see NOT_INPUTS)."""
    own = {model, *(g for g, members in GROUPS.items() if model in members)}
    out = {k: v for k, v in resolved.items() if k not in NOT_INPUTS}
    out["models"] = {k: v for k, v in (resolved.get("models") or {}).items() if k in own}
    out["custom_models"] = {k: v for k, v in (resolved.get("custom_models") or {}).items()
                            if k == model}
    return out


def module_files(module: str) -> list[Path]:
    """The source file of `module` and of the modules of its package it imports, in a
    stable order. Files are found and read, never imported (a builder imports keras)."""
    package = module.rpartition(".")[0]
    if not package:  # a top-level module: its own file
        spec = importlib.util.find_spec(module)
        return [Path(spec.origin)] if spec and spec.origin and spec.origin.endswith(".py") else []
    spec = importlib.util.find_spec(package)  # imports the package's parents only
    roots = [Path(r) for r in (spec.submodule_search_locations or [])] if spec else []
    found: dict[str, Path] = {}
    pending = [module]
    while pending and len(found) < _MAX_CODE_FILES:
        name = pending.pop()
        if name in found:
            continue
        located = _locate(roots, name.removeprefix(package).lstrip(".").split("."))
        if located is None:
            continue
        found[name] = located
        pending += [m for m in _imports(located, name, located.name == "__init__.py")
                    if m.startswith(package + ".")]
    return [found[name] for name in sorted(found)]


def _locate(roots: list[Path], parts: list[str]) -> Path | None:
    parts = [p for p in parts if p]
    for root in roots:
        for candidate in (root.joinpath(*parts).with_suffix(".py") if parts else None,
                          root.joinpath(*parts, "__init__.py")):
            if candidate is not None and candidate.is_file():
                return candidate
    return None


def _imports(path: Path, module: str, is_package: bool) -> list[str]:
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    base = module.split(".") if is_package else module.split(".")[:-1]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parent = base[:len(base) - node.level + 1] if node.level else []
            target = ".".join([*parent, *(node.module.split(".") if node.module else [])])
            names += [target, *(f"{target}.{alias.name}" for alias in node.names)]
    return names


def code_version(builder: str, loader_module: str) -> str:
    """Hash of the builder's and the loader's source files (path and bytes)."""
    files = {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
             for module in (builder.partition(":")[0], loader_module)
             for p in module_files(module)}
    return _digest(files)


def input_fingerprint(ctx: RunContext, model: str) -> dict[str, Any]:
    """{"fingerprint": <sha256>, "parts": {manifest, settings, code, preprocessing, seed}}
    of `model` in this run (its manifest must have been written by validate_data)."""
    from training_lib.data.loaders.registry import loaders
    from training_lib.models.resolve import spec_for

    spec = spec_for(model, ctx.settings)
    resolved = ctx.preset.resolved()
    files = (ctx.read_json(ctx.folder.manifest(model), {}) or {}).get("files", [])
    parts = {
        "manifest": manifest_digest(files),
        "settings": _digest(model_settings(resolved, model)),
        "code": code_version(spec.builder, loaders()[spec.loader].__module__),
        "preprocessing": _digest(resolved.get("preprocessing")),
        "seed": _digest(resolved.get("seed")),
    }
    return {"fingerprint": _digest(parts), "parts": parts}


def changed_parts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which parts of two fingerprints differ ("manifest", "code", ...)."""
    old_parts, new_parts = old.get("parts") or {}, new.get("parts") or {}
    return sorted(k for k in {*old_parts, *new_parts} if old_parts.get(k) != new_parts.get(k))


# ---- the index of reusable results ------------------------------------------------------
def index_path(preset: str) -> Path:
    return settings.store_dir() / "reuse" / f"{settings.safe_name(preset)}.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_index(preset: str) -> dict[str, Any]:
    return read_json(index_path(preset), {}) or {}


def remember_versions(ctx: RunContext, results: dict[str, dict[str, Any]],
                      decisions: dict[str, Any]) -> list[str]:
    """Record the models this run trained and registered as reusable; returns their names."""
    entries = {}
    for model, result in results.items():
        version = (decisions.get(model) or {}).get("version")
        if result.get("reused") or not result.get("input_fingerprint") or not version:
            continue
        entries[model] = {"fingerprint": result["input_fingerprint"], "version": str(version),
                          "run_id": ctx.run_id, "run_dir": str(ctx.run_dir),
                          "round": result.get("round", 1), "mlflow_run_id": result["mlflow_run_id"],
                          "recorded": time.time()}
    if entries:
        path = index_path(ctx.preset.name)
        with _locked(path):
            write_json(path, {**read_index(ctx.preset.name), **entries})
    return sorted(entries)


def reuse_blocked(ctx: RunContext, round_index: int) -> str | None:
    """Why this run never reuses (None: it may)."""
    params = (ctx.read_json(ctx.folder.config, {}) or {}).get("params") or {}
    if params.get("force_retrain"):
        return "force_retrain is set"
    s = ctx.settings
    if s.incremental is not None:
        return "incremental presets fine-tune on new data"
    if s.rounds > 1 or s.enable_collaborative_training or round_index > 1:
        return "collaborative rounds depend on their peers"
    return None


def find_reusable(ctx: RunContext, model: str, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The earlier result `model` can reuse, or None (the reason is logged)."""
    from training_lib.registry import client
    from training_lib.runs.folder import RunFolder

    entry = read_index(ctx.preset.name).get(model)
    if entry is None:
        log.info("%s: no earlier registered result of preset %s to reuse", model, ctx.preset.name)
        return None
    if entry["fingerprint"]["fingerprint"] != fingerprint["fingerprint"]:
        log.info("%s: retraining, inputs changed since run %s: %s", model, entry["run_id"],
                 ", ".join(changed_parts(entry["fingerprint"], fingerprint)))
        return None
    old_round = RunFolder(Path(entry["run_dir"])).round(model, int(entry["round"]))
    result = read_json(old_round.result) if old_round.result.exists() else None
    if result is None or not Path(result.get("model_path", "")).exists():
        log.info("%s: retraining, the result of run %s is gone (%s)", model, entry["run_id"],
                 old_round.path)
        return None
    version = client.get_version(model, entry["version"])  # RegistryError: outage, not "gone"
    if version is None or (version.run_id and version.run_id != entry["mlflow_run_id"]):
        log.info("%s: retraining, version %s of run %s is no longer in the registry", model,
                 entry["version"], entry["run_id"])
        return None
    line = f"reused v{entry['version']} from run {entry['run_id']}"
    return {**result, "input_fingerprint": fingerprint, "finished": time.time(),
            "reused": {"line": line, "version": entry["version"], "run_id": entry["run_id"],
                       "run_dir": entry["run_dir"], "result": str(old_round.result)}}


def reuse_result(ctx: RunContext, model: str, round_index: int = 1) -> dict[str, Any] | None:
    """The train stage's check: when `model` can reuse an earlier result, write the reused
    result as this round's result.json and return it; else None (train it)."""
    blocked = reuse_blocked(ctx, round_index)
    if blocked:
        log.info("%s: not looking for a result to reuse: %s", model, blocked)
        return None
    found = find_reusable(ctx, model, input_fingerprint(ctx, model))
    if found is not None:
        found["round"] = round_index
        write_json(ctx.round(model, round_index).result, found)
    return found
