"""The registry's memory: every alias move and status change, and the last alias state seen.

MLflow keeps aliases and tags but no history of them (an alias has no timestamp in 3.17:
`RegisteredModel.aliases` is a plain {alias: version} map and setting one does not even
touch `last_updated_timestamp`). So the project keeps its own record in SQLite next to the
catalog (`$TLIB_STORE_DIR/registry/history.sqlite`, on the storage every worker shares):

- `alias_events`: model, time (UTC), `noticed` (1 when the time is when the change was
  noticed, not when it was made: a hand edit in the MLflow UI), actor, action, alias,
  from, to, reason;
- `status_events`: every `status`/`status_reason` a version was given (the tags hold only
  the current one);
- `alias_state` + `models`: the aliases as last recorded and the versions of every model;
  a model has been seen once it has a `models` row. Comparing MLflow's aliases with this
  state is how a hand edit is detected.

All writes happen in `transaction()`, which holds SQLite's write lock: it serializes the
registry changes of parallel tasks, the CLI and the rollback DAG, so one hand edit is
recorded once. What was recorded is committed even when a later MLflow call fails, so the
record keeps matching what was really changed.
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from training_lib import settings
from training_lib.errors import RegistryError
from training_lib.registry import model_index

SCHEMA = """
CREATE TABLE IF NOT EXISTS alias_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, time TEXT NOT NULL,
    noticed INTEGER NOT NULL DEFAULT 0, actor TEXT NOT NULL, action TEXT NOT NULL,
    alias TEXT NOT NULL, old_version TEXT, new_version TEXT, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alias_events_model ON alias_events (model, id);
CREATE TABLE IF NOT EXISTS status_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, version TEXT NOT NULL,
    time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, old_status TEXT,
    new_status TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS status_events_model ON status_events (model, version, id);
CREATE TABLE IF NOT EXISTS alias_state (
    model TEXT NOT NULL, alias TEXT NOT NULL, version TEXT NOT NULL,
    PRIMARY KEY (model, alias));
CREATE TABLE IF NOT EXISTS models (
    model TEXT PRIMARY KEY, versions TEXT NOT NULL, updated TEXT NOT NULL);
"""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def store_path() -> Path:
    return settings.store_dir() / "registry" / "history.sqlite"


class HistoryStore:
    """The SQLite file at `path` (default `$TLIB_STORE_DIR/registry/history.sqlite`); the
    rollback form's list is written beside it (`models.json`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else store_path()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise RegistryError(f"cannot open the registry history {str(self.path)!r}: "
                                f"{e}") from e
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Transaction"]:
        """The write lock for one registry change; commits what was recorded, even when
        the change fails half way (the record must match what MLflow now holds)."""
        with self._connect() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(db, self)
                finally:
                    db.execute("COMMIT")
            except sqlite3.Error as e:  # e.g. locked for 60 s by a change that hangs
                raise RegistryError(f"the registry history {str(self.path)!r} failed: "
                                    f"{type(e).__name__}: {e}") from e

    # ---- reading (no lock) ------------------------------------------------------------
    def alias_events(self, model: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Alias moves of `model`, oldest first (the newest `limit` when given)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM alias_events WHERE model = ? ORDER BY id DESC"
                              + (" LIMIT ?" if limit else ""),
                              (model, limit) if limit else (model,)).fetchall()
        return [_alias_row(r) for r in reversed(rows)]

    def status_events(self, model: str, version: str | None = None) -> list[dict[str, Any]]:
        """Status changes of `model` (of one version when given), oldest first."""
        query, args = "SELECT * FROM status_events WHERE model = ?", [model]
        if version is not None:
            query, args = query + " AND version = ?", [model, str(version)]
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [{"time": r["time"], "who": r["actor"], "action": r["action"],
                 "version": r["version"], "from": r["old_status"], "to": r["new_status"],
                 "why": r["reason"]} for r in rows]

    def known_models(self) -> list[str]:
        with self._connect() as db:
            return [r["model"] for r in db.execute("SELECT model FROM models ORDER BY model")]


class Transaction:
    """The writes of one registry change (inside `HistoryStore.transaction()`)."""

    def __init__(self, db: sqlite3.Connection, store: HistoryStore) -> None:
        self.db = db
        self.store = store
        self.events: list[tuple[str, dict[str, Any]]] = []  # (model, alias move) recorded here

    def recorded_aliases(self, model: str) -> dict[str, str] | None:
        """{alias: version} as last recorded; None when the model was never seen."""
        if self.db.execute("SELECT 1 FROM models WHERE model = ?", (model,)).fetchone() is None:
            return None
        rows = self.db.execute("SELECT alias, version FROM alias_state WHERE model = ?", (model,))
        return {r["alias"]: r["version"] for r in rows}

    def record_alias(self, model: str, *, action: str, alias: str, old: str | None,
                     new: str | None, actor: str, reason: str, noticed: bool = False,
                     at: str | None = None) -> dict[str, Any]:
        """Append one alias move and make it the recorded state of that alias."""
        event = {"time": at or now(), "noticed": noticed, "who": actor, "action": action,
                 "alias": alias, "from": old, "to": new, "why": reason}
        self.db.execute("INSERT INTO alias_events (model, time, noticed, actor, action, alias, "
                        "old_version, new_version, reason) VALUES (?,?,?,?,?,?,?,?,?)",
                        (model, event["time"], int(noticed), actor, action, alias, old, new,
                         reason))
        self._set_state(model, alias, new)
        self.events.append((model, event))
        return event

    def _set_state(self, model: str, alias: str, version: str | None) -> None:
        if version is None:
            self.db.execute("DELETE FROM alias_state WHERE model = ? AND alias = ?",
                            (model, alias))
        else:
            self.db.execute("INSERT OR REPLACE INTO alias_state VALUES (?,?,?)",
                            (model, alias, version))

    def adopt_state(self, model: str, aliases: dict[str, str]) -> None:
        """Take `aliases` as the recorded state without an event (legacy history import)."""
        self.db.execute("DELETE FROM alias_state WHERE model = ?", (model,))
        for alias, version in aliases.items():
            self._set_state(model, alias, version)

    def record_status(self, model: str, version: str, *, action: str, old: str | None,
                      new: str, actor: str, reason: str) -> None:
        self.db.execute("INSERT INTO status_events (model, version, time, actor, action, "
                        "old_status, new_status, reason) VALUES (?,?,?,?,?,?,?,?)",
                        (model, str(version), now(), actor, action, old, new, reason))

    def import_alias_events(self, model: str, events: list[dict[str, Any]]) -> None:
        """Append events recorded elsewhere (the old `alias_history` tag), times kept."""
        for e in events:
            self.events.append((model, {"time": str(e.get("time") or "?"), "noticed": False,
                                        "who": str(e.get("who") or "?"),
                                        "action": str(e.get("action") or "?"),
                                        "alias": str(e.get("alias") or "champion"),
                                        "from": e.get("from"), "to": e.get("to"),
                                        "why": str(e.get("why") or "")}))
            self.db.execute("INSERT INTO alias_events (model, time, noticed, actor, action, "
                            "alias, old_version, new_version, reason) VALUES (?,?,?,?,?,?,?,?,?)",
                            (model, str(e.get("time") or "?"), 0, str(e.get("who") or "?"),
                             str(e.get("action") or "?"), str(e.get("alias") or "champion"),
                             e.get("from"), e.get("to"), str(e.get("why") or "")))

    def save_model(self, model: str, versions: list[str]) -> None:
        """Mark the model seen, with its versions, and rewrite the rollback form's list."""
        self.db.execute("INSERT OR REPLACE INTO models VALUES (?,?,?)",
                        (model, ",".join(versions), now()))
        self.write_index()

    def write_index(self) -> None:
        models: dict[str, dict[str, Any]] = {}
        for row in self.db.execute("SELECT model, versions FROM models"):
            models[row["model"]] = {"versions": [v for v in row["versions"].split(",") if v]}
        for row in self.db.execute("SELECT model, alias, version FROM alias_state"):
            if row["model"] in models:
                models[row["model"]][row["alias"]] = row["version"]
        try:
            model_index.write_index(models, now(), self.store.path.parent / "models.json")
        except OSError as e:
            raise RegistryError(f"cannot write the rollback form's model list next to "
                                f"{str(self.store.path)!r}: {e}") from e


def _alias_row(r: sqlite3.Row) -> dict[str, Any]:
    return {"time": r["time"], "noticed": bool(r["noticed"]), "who": r["actor"],
            "action": r["action"], "alias": r["alias"], "from": r["old_version"],
            "to": r["new_version"], "why": r["reason"]}
