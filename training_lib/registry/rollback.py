"""Roll a model back to an earlier version, and read its promotion/rollback history.

MLflow keeps no alias history, so every move made here or by promotion is appended to
the registered model's `alias_history` tag (who, when, from, to, why). A hand edit of
the `champion` alias in the MLflow UI is honoured (the pipeline always starts from the
alias), and shows in `history` as a change nobody recorded.
"""
from __future__ import annotations

import json
from typing import Any

from training_lib import settings
from training_lib.errors import RegistryError
from training_lib.registry import client
from training_lib.registry.promotion import HISTORY_TAG, move_alias


def _version(model: str, alias: str) -> str | None:
    return (client.get_aliases(model) or {}).get(alias)


def _registered(model: str) -> Any:
    registered = client.get_registered_model(model)
    if registered is None:
        raise RegistryError(f"no registered model {model!r} on {settings.mlflow_tracking_uri()!r}")
    return registered


def rollback(model: str, to_version: str | None = None, why: str = "") -> dict[str, Any]:
    """Point `champion` at `to_version` (default: the `previous` alias)."""
    _registered(model)
    current = _version(model, "champion")
    target = to_version or _version(model, "previous")
    if target is None:
        raise RegistryError(f"{model}: no version given and no 'previous' alias to roll back to")
    if client.get_version(model, str(target)) is None:
        raise RegistryError(f"{model}: no version {target!r}")
    if current == str(target):
        raise RegistryError(f"{model}: version {target} is already the champion")
    reason = why or f"rollback from v{current} to v{target}"
    move_alias(model, "champion", str(target), reason, action="rollback")
    client.set_version_tag(model, str(target), "status", "release")
    client.set_version_tag(model, str(target), "status_reason", reason)
    if current is not None:
        client.set_version_tag(model, current, "status", "rolled_back")
        client.set_version_tag(model, current, "status_reason", reason)
    return {"model": model, "from": current, "to": str(target), "reason": reason}


def history(model: str) -> list[dict[str, Any]]:
    """Recorded alias moves, plus a line when the live champion differs from the record."""
    registered = _registered(model)
    try:
        moves = json.loads((registered.tags or {}).get(HISTORY_TAG, "[]"))
    except ValueError:
        moves = []
    recorded = next((m["to"] for m in reversed(moves) if m.get("alias") == "champion"), None)
    live = {a: str(v) for a, v in (registered.aliases or {}).items()}.get("champion")
    if live != recorded:
        moves.append({"time": "?", "who": "?", "action": "manual", "alias": "champion",
                      "from": recorded, "to": live,
                      "why": "alias changed outside the pipeline (e.g. in the MLflow UI)"})
    return moves


def versions(model: str) -> list[dict[str, Any]]:
    rows = []
    aliases: dict[str, list[str]] = {}
    for alias, version in (_registered(model).aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    for v in client.search_versions(model):
        rows.append({"version": str(v.version), "status": (v.tags or {}).get("status", ""),
                     "reason": (v.tags or {}).get("status_reason", ""),
                     "aliases": aliases.get(str(v.version), []), "run_id": v.run_id})
    return sorted(rows, key=lambda r: int(r["version"]))
