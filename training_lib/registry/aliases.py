"""One registry state, whichever way it was changed: promotion, the `rollback` CLI, the
rollback DAG, or a hand edit of an alias in the MLflow UI.

Invariants kept for every registered model:

- at most one version holds `champion` (MLflow's aliases are unique), and once a model has
  had a champion it always has one: a deleted `champion` is moved to `previous`, or put
  back when there is no other version to serve;
- `previous` is the champion before the current one, never the champion itself;
  `challenger` is never the champion;
- the champion's `status` tag is `release` (`rolled_back` goes when a version becomes
  champion again); a champion displaced by a rollback or a hand edit becomes `rolled_back`,
  one displaced by a better version keeps `release` and becomes `previous`;
- every alias move and status change is appended to the history store (`history_store`)
  with time, actor and reason; `status_reason` holds the current reason only, the store
  keeps them all; the registered model's `last_alias_change` tag shows the latest move.

Hand edits are found by `reconcile`, which every reader of the registry calls first
(champion lookup, rollback, history, versions): the aliases MLflow holds are compared with
the last recorded ones, each difference is recorded as a `manual` move (MLflow keeps no
alias timestamp, so its time is when it was noticed, flagged `noticed`), and the
invariants are repaired with the same steps a rollback takes.
"""
from __future__ import annotations

import getpass
import json
import os
from typing import Any

from training_lib import settings
from training_lib.errors import RegistryError
from training_lib.registry import client
from training_lib.registry.history_store import HistoryStore, Transaction

CHAMPION, PREVIOUS, CHALLENGER = "champion", "previous", "challenger"
SUMMARY_TAG = "last_alias_change"
LEGACY_HISTORY_TAG = "alias_history"  # the JSON list older releases kept on the model
OUTSIDE = "MLflow UI/API"  # the actor of a change the project did not make
REPAIR_ACTOR = "registry invariants"
SUMMARY_CHARS = 250


def current_actor() -> str:
    """Who is acting: TLIB_ACTOR when set (a service account, a CI job), else the login."""
    return os.environ.get("TLIB_ACTOR") or getpass.getuser()


def v(version: str | None) -> str:
    return f"v{version}" if version else "none"


def reconcile(model: str, store: HistoryStore | None = None) -> dict[str, str]:
    """Record hand edits of `model`'s aliases and repair the invariants; the aliases after."""
    with (store or HistoryStore()).transaction() as tx:
        aliases = _reconcile(tx, model)
        _finish(tx, model)
    return aliases


def move_champion(model: str, version: str, *, action: str, reason: str,
                  actor: str | None = None, demote_old: bool = False,
                  store: HistoryStore | None = None) -> dict[str, Any]:
    """Point `champion` at `version`; `previous` follows the old champion, which becomes
    `rolled_back` when `demote_old` (rollbacks), and `version` becomes `release`."""
    actor = actor or current_actor()
    with (store or HistoryStore()).transaction() as tx:
        aliases = _reconcile(tx, model)
        old = aliases.get(CHAMPION)
        if old != str(version):
            _point(tx, model, aliases, CHAMPION, str(version), action=action, actor=actor,
                   reason=reason)
            _after_champion_move(tx, model, aliases, old, str(version), action=action,
                                 actor=actor, reason=reason, demote_old=demote_old)
        _finish(tx, model)
    return {"model": model, "from": old, "to": str(version), "reason": reason,
            "changed": old != str(version)}


def point_alias(model: str, alias: str, version: str, *, action: str, reason: str,
                actor: str | None = None, store: HistoryStore | None = None) -> None:
    """Point a non-champion alias (e.g. `challenger`) at `version`; never at the champion."""
    if alias == CHAMPION:
        raise RegistryError(f"point_alias() got alias {alias!r}; use move_champion()")
    with (store or HistoryStore()).transaction() as tx:
        aliases = _reconcile(tx, model)
        if aliases.get(CHAMPION) == str(version):
            raise RegistryError(f"{model}: v{version} is the champion; it cannot also be "
                                f"{alias!r}")
        _point(tx, model, aliases, alias, str(version), action=action,
               actor=actor or current_actor(), reason=reason)
        _finish(tx, model)


def set_status(model: str, version: str, status: str, reason: str, *, action: str,
               actor: str | None = None, store: HistoryStore | None = None) -> None:
    """Tag a version's `status` and `status_reason`; the change is appended to the store."""
    with (store or HistoryStore()).transaction() as tx:
        _set_status(tx, model, str(version), status, reason, action=action,
                    actor=actor or current_actor())
        _finish(tx, model)


# ---- inside one transaction ------------------------------------------------------------
def _reconcile(tx: Transaction, model: str) -> dict[str, str]:
    registered = client.get_registered_model(model)
    if registered is None:
        raise RegistryError(f"no registered model {model!r} on "
                            f"{settings.mlflow_tracking_uri()!r}")
    live = {alias: str(version) for alias, version in (registered.aliases or {}).items()}
    recorded = tx.recorded_aliases(model)
    if recorded is None:
        recorded = _import_legacy(tx, model, registered.tags or {})
    if recorded is None:  # first sight of a model the project did not create
        for alias, version in sorted(live.items()):
            tx.record_alias(model, action="adopt", alias=alias, old=None, new=version,
                            actor=OUTSIDE, noticed=True,
                            reason="alias found when this model's history started")
        recorded = dict(live)
    for alias in sorted(set(recorded) | set(live)):
        if recorded.get(alias) != live.get(alias):
            tx.record_alias(model, action="manual", alias=alias, old=recorded.get(alias),
                            new=live.get(alias), actor=OUTSIDE, noticed=True,
                            reason="changed outside the pipeline; time = when noticed "
                                   "(MLflow keeps no alias timestamp)")
    aliases = dict(live)
    _repair(tx, model, aliases, recorded)
    return aliases


def _repair(tx: Transaction, model: str, aliases: dict[str, str],
            recorded: dict[str, str]) -> None:
    before, champion = recorded.get(CHAMPION), aliases.get(CHAMPION)
    fix = {"action": "repair", "actor": REPAIR_ACTOR}
    if champion is None and before is not None:
        previous = aliases.get(PREVIOUS)
        if previous and previous != before:
            _point(tx, model, aliases, CHAMPION, previous, **fix,
                   reason=f"champion alias was deleted by hand: previous {v(previous)} "
                          f"takes over")
        elif client.get_version(model, before) is not None:
            _point(tx, model, aliases, CHAMPION, before, **fix,
                   reason="champion alias was deleted by hand and there is no other "
                          "version to serve: put back (roll back with `rollback`)")
        champion = aliases.get(CHAMPION)
    if champion is not None and before is not None and champion != before:
        # the champion moved outside the pipeline: do what a rollback does
        _after_champion_move(tx, model, aliases, before, champion, **fix, demote_old=True,
                             reason=f"champion moved by hand from {v(before)} to "
                                    f"{v(champion)}")
    if aliases.get(PREVIOUS) is not None and aliases.get(PREVIOUS) == champion:
        keep = recorded.get(PREVIOUS)
        _point(tx, model, aliases, PREVIOUS, keep if keep != champion else None, **fix,
               reason=f"'previous' may not be the champion {v(champion)}")
    if aliases.get(CHALLENGER) is not None and aliases.get(CHALLENGER) == champion:
        _point(tx, model, aliases, CHALLENGER, None, **fix,
               reason=f"'challenger' may not be the champion {v(champion)}")
    if champion is not None:
        _set_status(tx, model, champion, "release", f"{v(champion)} is the champion",
                    only_if_changed=True, **fix)


def _after_champion_move(tx: Transaction, model: str, aliases: dict[str, str],
                         old: str | None, new: str, *, action: str, actor: str, reason: str,
                         demote_old: bool) -> None:
    if old is not None and old != new:
        _point(tx, model, aliases, PREVIOUS, old, action=action, actor=actor,
               reason=f"champion before {v(new)}")
    if aliases.get(CHALLENGER) == new:
        _point(tx, model, aliases, CHALLENGER, None, action=action, actor=actor,
               reason=f"{v(new)} became champion")
    _set_status(tx, model, new, "release", reason, action=action, actor=actor,
                only_if_changed=action == "promote")
    if demote_old and old is not None and old != new:
        _set_status(tx, model, old, "rolled_back", reason, action=action, actor=actor)


def _point(tx: Transaction, model: str, aliases: dict[str, str], alias: str,
           version: str | None, *, action: str, actor: str, reason: str) -> None:
    old = aliases.get(alias)
    if old == version:
        return
    if version is None:
        client.delete_alias(model, alias)
        aliases.pop(alias, None)
    else:
        client.set_alias(model, alias, version)
        aliases[alias] = version
    tx.record_alias(model, action=action, alias=alias, old=old, new=version, actor=actor,
                    reason=reason)


def _set_status(tx: Transaction, model: str, version: str, status: str, reason: str, *,
                action: str, actor: str, only_if_changed: bool = False) -> None:
    found = client.get_version(model, version)
    if found is None:
        raise RegistryError(f"{model}: no version {version!r} to tag {status!r}")
    old = (found.tags or {}).get("status")
    if only_if_changed and old == status:
        return
    client.set_version_tag(model, version, "status", status)
    client.set_version_tag(model, version, "status_reason", reason)
    tx.record_status(model, version, action=action, old=old, new=status, actor=actor,
                     reason=reason)


def _import_legacy(tx: Transaction, model: str, tags: dict[str, str]) -> dict[str, str] | None:
    """Move the old `alias_history` tag into the store; the alias state its moves imply."""
    raw = tags.get(LEGACY_HISTORY_TAG)
    if raw is None:
        return None
    try:
        events = [e for e in json.loads(raw) if isinstance(e, dict)]
    except (ValueError, TypeError):
        events = []
    state: dict[str, str] = {}
    for e in events:
        alias, old, new = e.get("alias") or CHAMPION, e.get("from"), e.get("to")
        if alias == CHAMPION and old and old != new:
            state[PREVIOUS] = str(old)
        if new:
            state[alias] = str(new)
    tx.import_alias_events(model, events)
    tx.adopt_state(model, state)
    client.delete_model_tag(model, LEGACY_HISTORY_TAG)
    return state


def _finish(tx: Transaction, model: str) -> None:
    """Save the model's versions (rewrites the rollback form's list) and, when aliases
    moved, the short summary the MLflow UI shows on the registered model's page."""
    versions = sorted((str(found.version) for found in client.search_versions(model)), key=int)
    tx.save_model(model, versions)
    moved = [e for m, e in tx.events if m == model]
    if moved:
        e = next((e for e in reversed(moved) if e["alias"] == CHAMPION), moved[-1])
        when = f"noticed {e['time']}" if e["noticed"] else e["time"]
        text = (f"{when} {e['action']} by {e['who']}: {e['alias']} {v(e['from'])} -> "
                f"{v(e['to'])}; history: python -m training_lib history {model}; "
                f"why: {e['why']}")
        client.set_model_tag(model, SUMMARY_TAG, text[:SUMMARY_CHARS])
