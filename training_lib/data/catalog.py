"""The file catalog: SQLite in the run store, one row per file version.

A row is one version of one file of one data root (keyed by the root's resolved
path). A rescan adds a row when a file's content changes, marks the old row no longer
current, and marks rows of files that disappeared as deleted; the history stays.
Cross-file facts (duplicate flags, score) of an unchanged version are updated in place.

>>> cat = Catalog(Path("/tmp/c.sqlite"))          # doctest: +SKIP
>>> cat.current(Path("data/demo"))[0].type        # doctest: +SKIP
'image'
"""
from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import logging
import marshal
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from training_lib import settings
from training_lib.data.records import FileRecord
from training_lib.errors import DataError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    type TEXT NOT NULL,
    format TEXT NOT NULL,
    label TEXT,
    split TEXT NOT NULL,
    score REAL NOT NULL,
    flags TEXT NOT NULL,          -- JSON list
    meta TEXT NOT NULL,           -- JSON object
    width INTEGER, height INTEGER, duration_s REAL, encoding TEXT,
    first_scan INTEGER NOT NULL,
    deleted_scan INTEGER,
    current INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS files_current ON files(root, current, path);
CREATE INDEX IF NOT EXISTS files_hash ON files(content_hash);
CREATE TABLE IF NOT EXISTS snapshots (   -- the current records of a root, for fast rescans
    root TEXT PRIMARY KEY,
    scan_id INTEGER NOT NULL,
    fields TEXT NOT NULL,
    records BLOB NOT NULL       -- marshal of field dicts (plain data only, no code)
);
CREATE TABLE IF NOT EXISTS folder_states (  -- each folder's stat at the snapshot's scan
    root TEXT PRIMARY KEY,                    -- (scan/folder_state.py: quick unchanged check)
    scan_id INTEGER NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    started REAL NOT NULL,
    elapsed_s REAL,
    n_files INTEGER, n_new INTEGER, n_changed INTEGER, n_deleted INTEGER,
    fingerprint TEXT,
    unchanged INTEGER NOT NULL DEFAULT 0   -- 1: nothing read, nothing deleted, no row written
);
"""

_COLUMNS = ("path", "size", "mtime_ns", "content_hash", "type", "format", "label", "split",
            "score", "flags", "meta")
_FIELDS = tuple(f.name for f in dataclasses.fields(FileRecord))


def root_key(root: Path | str) -> str:
    return os.path.realpath(root)


def _to_db(text: str | None) -> str | bytes | None:
    """SQLite text must be UTF-8. A file name that is not arrives from the file system with
    surrogate escapes ('bad\\udcff.txt'); it is stored as its bytes, which `_from_db` turns
    back into the same string, so the record still opens its file."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _from_db(value: str | bytes | None) -> str | None:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _key(root: Path | str) -> str | bytes:
    return _to_db(root_key(root))


def fingerprint(records: Iterable[FileRecord]) -> str:
    """sha256 of the sorted content hashes: names and times do not change it."""
    digest = hashlib.sha256()
    for content_hash in sorted(r.content_hash for r in records):
        digest.update(content_hash.encode())
        digest.update(b"\n")
    return digest.hexdigest()


class Catalog:
    """SQLite catalog of file versions; safe to open from several processes (WAL)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
            self._read_snapshot: dict[str | bytes | None, int] = {}  # root -> scan id `current` read
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(scans)")}
            if "unchanged" not in columns:  # a catalog written before the column existed
                self._db.execute("ALTER TABLE scans ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0")
        except (OSError, sqlite3.Error) as e:
            raise DataError(f"cannot open the catalog {self.db_path}: {e}") from e

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def current(self, root: Path) -> list[FileRecord]:
        """The latest version of every file present (as of the last scan) under root,
        in path order."""
        enabled = gc.isenabled()
        gc.disable()  # building 10^4..10^5 records: collections would dominate
        try:
            snapshot = self._snapshot(root)
            return snapshot if snapshot is not None else self._current_rows(root)
        finally:
            if enabled:
                gc.enable()

    def _snapshot(self, root: Path) -> list[FileRecord] | None:
        key = _key(root)
        row = self._db.execute(
            "SELECT scan_id, fields, records, "
            "(SELECT max(id) FROM scans WHERE root = ? AND unchanged = 0) "
            "FROM snapshots WHERE root = ?", (key, key)).fetchone()
        if row is None or row[0] != row[3] or row[1] != ",".join(_FIELDS):
            return None
        self._read_snapshot[key] = row[0]
        new, assign = object.__new__, object.__setattr__
        out = []
        for state in marshal.loads(row[2]):
            record = new(FileRecord)
            assign(record, "__dict__", state)  # how pickle restores a frozen dataclass
            out.append(record)
        return out

    def folder_state(self, root: Path) -> bytes | None:
        """The folder state stored with the current snapshot (None when there is none, or
        it belongs to an older scan)."""
        key = _key(root)
        row = self._db.execute(
            "SELECT f.state FROM folder_states f JOIN snapshots s ON s.root = f.root "
            "WHERE f.root = ? AND f.scan_id = s.scan_id AND s.scan_id = "
            "(SELECT max(id) FROM scans WHERE root = ? AND unchanged = 0)", (key, key)).fetchone()
        return row[0] if row else None

    def save_folder_state(self, root: Path, state: bytes) -> None:
        """Store `state` with the snapshot `current` read, if it is still the stored one (a
        scan that changed nothing found the stored state missing or stale)."""
        key = _key(root)
        self._db.execute("INSERT OR REPLACE INTO folder_states (root, scan_id, state) "
                         "SELECT root, scan_id, ? FROM snapshots WHERE root = ? AND scan_id = ?",
                         (state, key, self._read_snapshot.get(key, -1)))

    def last_fingerprint(self, root: Path) -> str | None:
        row = self._db.execute("SELECT fingerprint FROM scans WHERE root = ? ORDER BY id DESC LIMIT 1",
                               (_key(root),)).fetchone()
        return row[0] if row else None

    def _current_rows(self, root: Path) -> list[FileRecord]:
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM files WHERE root = ? AND current = 1 ORDER BY path",
            (_key(root),)).fetchall()
        loads = json.loads
        return [FileRecord(_from_db(path), size, mtime_ns, content_hash, type_, _from_db(fmt),
                           _from_db(label), split, score, tuple(loads(flags)), loads(meta))
                for path, size, mtime_ns, content_hash, type_, fmt, label, split, score, flags, meta
                in rows]

    def versions(self, root: Path, path: str) -> list[dict[str, Any]]:
        """Every stored version of one file, oldest first, with scan ids."""
        cur = self._db.execute(
            "SELECT content_hash, size, mtime_ns, type, format, score, flags, first_scan, "
            "deleted_scan, current FROM files WHERE root = ? AND path = ? ORDER BY id",
            (_key(root), _to_db(path)))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def scans(self, root: Path) -> list[dict[str, Any]]:
        cur = self._db.execute("SELECT * FROM scans WHERE root = ? ORDER BY id", (_key(root),))
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
        return [{**row, "root": _from_db(row["root"])} for row in rows]

    def record_scan(self, root: Path, records: list[FileRecord], previous: dict[str, FileRecord],
                    deleted: list[str], *, started: float, elapsed_s: float, n_new: int,
                    n_changed: int, fingerprint_: str, unchanged: bool = False,
                    folder_state: bytes | None = None) -> int:
        """Store one scan's outcome in one transaction; returns the scan id.

        `unchanged=True` says `records` are exactly `previous` (nothing read, nothing
        deleted): only the scan row is added. `folder_state` is stored with a new
        snapshot (scan/folder_state.py)."""
        key = _key(root)
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            has_snapshot = db.execute("SELECT 1 FROM snapshots WHERE root = ?", (key,)).fetchone()
            unchanged = unchanged and has_snapshot is not None
            scan_id = db.execute(
                "INSERT INTO scans (root, started, elapsed_s, n_files, n_new, n_changed, n_deleted, "
                "fingerprint, unchanged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, started, elapsed_s, len(records), n_new, n_changed, len(deleted), fingerprint_,
                 int(unchanged)),
            ).lastrowid
            if unchanged:  # the rows and the snapshot of the last changing scan still hold
                db.execute("COMMIT")
                return int(scan_id)
            inserts, retire, updates = [], [], []
            for r in records:
                prev = previous.get(r.path)
                if prev is not None and prev == r:
                    continue
                if prev is not None and prev.content_hash == r.content_hash:
                    updates.append(self._row(r)[1:] + (key, _to_db(r.path)))
                    continue
                if prev is not None:
                    retire.append((key, _to_db(r.path)))
                inserts.append((key,) + self._row(r) + (scan_id,))
            db.executemany("UPDATE files SET current = 0 WHERE root = ? AND path = ? AND current = 1",
                           retire)
            db.executemany(
                "UPDATE files SET size=?, mtime_ns=?, content_hash=?, type=?, format=?, label=?, "
                "split=?, score=?, flags=?, meta=?, width=?, height=?, duration_s=?, encoding=? "
                "WHERE root = ? AND path = ? AND current = 1", updates)
            db.executemany(
                "INSERT INTO files (root, path, size, mtime_ns, content_hash, type, format, label, "
                "split, score, flags, meta, width, height, duration_s, encoding, first_scan) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
            db.executemany(
                "UPDATE files SET current = 0, deleted_scan = ? WHERE root = ? AND path = ? "
                "AND current = 1", [(scan_id, key, _to_db(path)) for path in deleted])
            self._write_snapshot(key, scan_id, records)
            db.execute("DELETE FROM folder_states WHERE root = ?", (key,))
            if folder_state is not None:
                db.execute("INSERT INTO folder_states (root, scan_id, state) VALUES (?, ?, ?)",
                           (key, scan_id, folder_state))
            db.execute("COMMIT")
        except sqlite3.Error as e:
            db.execute("ROLLBACK")
            raise DataError(f"cannot write the catalog {self.db_path}: {e}") from e
        log.debug("scan %s of %s: %d inserted, %d updated, %d retired, %d deleted", scan_id, key,
                  len(inserts), len(updates), len(retire), len(deleted))
        return int(scan_id)

    def _write_snapshot(self, key: str, scan_id: int, records: list[FileRecord]) -> None:
        try:
            blob = marshal.dumps([{name: getattr(r, name) for name in _FIELDS} for r in records])
        except ValueError:  # a value marshal cannot hold (never from the scanner): no snapshot
            self._db.execute("DELETE FROM snapshots WHERE root = ?", (key,))
            return
        self._db.execute("INSERT OR REPLACE INTO snapshots (root, scan_id, fields, records) "
                         "VALUES (?, ?, ?, ?)", (key, scan_id, ",".join(_FIELDS), blob))

    @staticmethod
    def _row(r: FileRecord) -> tuple:
        meta = r.meta
        return (_to_db(r.path), r.size, r.mtime_ns, r.content_hash, r.type, _to_db(r.format),
                _to_db(r.label), r.split, r.score, json.dumps(list(r.flags)),
                json.dumps(meta, sort_keys=True, default=_plain),
                meta.get("width"), meta.get("height"), meta.get("duration_s"), meta.get("encoding"))


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and other number-likes a decoder may leave in meta."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def default_catalog() -> Catalog:
    """The shared catalog at settings.store_dir()/catalog.sqlite."""
    return Catalog(settings.store_dir() / "catalog.sqlite")
