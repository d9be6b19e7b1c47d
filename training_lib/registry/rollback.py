"""Roll a model back to an earlier version, and read its promotion/rollback history.

A rollback is `aliases.move_champion` with the old champion demoted to `rolled_back`: the
same steps, invariants and history records as a promotion or a hand edit in the MLflow UI
(which `aliases.reconcile` records and repairs before anything here reads the registry).
The history lives in the project's store (`history_store`), not in MLflow.

    >>> from training_lib.registry.rollback import rollback
    >>> rollback("vision_service", why="v7 misreads sevens")  # champion -> 'previous'
"""
from __future__ import annotations

from typing import Any

from training_lib import settings
from training_lib.errors import RegistryError
from training_lib.registry import aliases, client
from training_lib.registry.history_store import HistoryStore


def _require(model: str) -> None:
    """A clear error for a model that was never registered, naming the registered ones."""
    if client.get_registered_model(model) is not None:
        return
    names = client.list_registered_models()
    raise RegistryError(f"no registered model {model!r} on {settings.mlflow_tracking_uri()!r}; "
                        f"registered models: {', '.join(names) if names else 'none yet'}")


def _version_numbers(model: str) -> list[str]:
    return sorted((str(found.version) for found in client.search_versions(model)), key=int)


def rollback(model: str, to_version: str | None = None, why: str = "",
             actor: str | None = None) -> dict[str, Any]:
    """Point `champion` at `to_version` (default: the `previous` alias)."""
    _require(model)
    current_aliases = aliases.reconcile(model)  # hand edits are recorded before we act
    numbers = _version_numbers(model)
    listing = ", ".join(f"v{n}" for n in numbers)
    if len(numbers) < 2:
        raise RegistryError(f"{model}: nothing to roll back to: "
                            + (f"only v{numbers[0]} exists" if numbers else "it has no version"))
    current = current_aliases.get(aliases.CHAMPION)
    target = str(to_version) if to_version else current_aliases.get(aliases.PREVIOUS)
    if target is None:
        raise RegistryError(f"{model}: no version given and no 'previous' alias to roll back "
                            f"to (versions {listing}; champion {aliases.v(current)})")
    if target not in numbers:
        raise RegistryError(f"{model}: no version {target!r} (versions {listing})")
    if current == target:
        raise RegistryError(f"{model}: version {target} is already the champion")
    reason = why or f"rollback from {aliases.v(current)} to v{target}"
    done = aliases.move_champion(model, target, action="rollback", reason=reason, actor=actor,
                                 demote_old=True)
    return {"model": model, "from": done["from"], "to": done["to"], "reason": reason}


def history(model: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Alias moves of `model`, oldest first: time (UTC; `noticed` when it is the time a
    hand edit was noticed), who, action, alias, from, to, why."""
    _require(model)
    aliases.reconcile(model)
    return HistoryStore().alias_events(model, limit)


def status_history(model: str, version: str | None = None) -> list[dict[str, Any]]:
    """Every status a version was given, with time, who and why (tags keep only the last)."""
    _require(model)
    return HistoryStore().status_events(model, version)


def versions(model: str) -> list[dict[str, Any]]:
    _require(model)
    by_version: dict[str, list[str]] = {}
    for alias, version in sorted(aliases.reconcile(model).items()):
        by_version.setdefault(version, []).append(alias)
    rows = []
    for found in client.search_versions(model):
        tags = found.tags or {}
        rows.append({"version": str(found.version), "status": tags.get("status", ""),
                     "reason": tags.get("status_reason", ""),
                     "aliases": by_version.get(str(found.version), []), "run_id": found.run_id})
    return sorted(rows, key=lambda r: int(r["version"]))
