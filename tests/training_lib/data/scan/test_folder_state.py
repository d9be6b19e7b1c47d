"""The rescan shortcut over folders as the last scan left them (scan/folder_state.py):
taken on an unchanged tree, and never hiding an edit, a new file or a deletion.

The shortcut trusts a folder only when its ctime is older than the recording scan's
start by `RACY_NS` (2 s): these tests set it to 0 and sleep past a timestamp tick
between changes, so that the trees they have just written qualify.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from training_lib.data.catalog import Catalog
from training_lib.data.scan import folder_state, scanner
from training_lib.data.scan.scanner import scan_folder

TICK = 0.05  # longer than a coarse clock's tick: a later change gets a later ctime


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The shortcut on for fresh folders; the list of roots the scanner walked in full."""
    monkeypatch.setattr(folder_state, "RACY_NS", 0)
    seen: list[str] = []
    real = scanner.walk

    def spy(root: Path, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(root))
        return real(root, *args, **kwargs)

    monkeypatch.setattr(scanner, "walk", spy)
    return seen


def _scan(root: Path, db: Path, **kw: Any) -> Any:
    time.sleep(TICK)  # the scan starts a tick after the last change, and ends a tick before the next
    with Catalog(db) as catalog:
        report = scan_folder(root, catalog, workers=0, **kw)
    time.sleep(TICK)
    return report


def test_an_unchanged_tree_is_checked_without_a_walk(data_root: Path, tmp_path: Path,
                                                     walks: list[str]) -> None:
    db = tmp_path / "c.sqlite"
    first = _scan(data_root, db)
    again = _scan(data_root, db)
    assert len(walks) == 1  # the first scan walked; the rescan took the shortcut
    assert (again.new, again.changed, again.deleted, again.inspected) == ([], [], [], 0)
    assert again.records == first.records and again.fingerprint == first.fingerprint
    assert [g.to_json() for g in again.labels] == [g.to_json() for g in first.labels]
    with Catalog(db) as catalog:
        assert catalog.scans(data_root)[-1]["unchanged"] == 1


def test_an_edit_in_place_is_read_again(data_root: Path, tmp_path: Path, walks: list[str]) -> None:
    db = tmp_path / "c.sqlite"
    _scan(data_root, db)
    folder = data_root / "text" / "poems"
    before = folder.stat()
    edited = folder / "0.txt"
    data = edited.read_bytes()
    with open(edited, "r+b") as fh:  # same size, other bytes: only the file's mtime moves
        fh.write(data[:5].upper())
    assert folder.stat().st_ctime_ns == before.st_ctime_ns and edited.stat().st_size == len(data)
    again = _scan(data_root, db)
    assert again.changed == ["text/poems/0.txt"] and again.inspected == 1
    assert len(walks) == 2  # the shortcut saw the file's new mtime and handed over
    third = _scan(data_root, db)
    assert third.inspected == 0 and len(walks) == 2  # the changing scan stored a fresh state


def test_new_deleted_and_deep_files_are_found(data_root: Path, tmp_path: Path,
                                              walks: list[str]) -> None:
    db = tmp_path / "c.sqlite"
    _scan(data_root, db)
    folder = data_root / "text" / "news"
    before = folder.stat()
    (folder / "9.txt").write_text("News that arrived after the scan, in the same folder.\n")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime as it was; ctime moves
    assert folder.stat().st_mtime_ns == before.st_mtime_ns
    again = _scan(data_root, db)
    assert again.new == ["text/news/9.txt"] and again.inspected == 1

    (data_root / "images" / "dogs" / "dogs_2.png").unlink()
    deep = data_root / "text" / "poems" / "old" / "older"
    deep.mkdir(parents=True)
    (deep / "a.txt").write_text("A poem kept two folders down, found on the next scan.\n")
    third = _scan(data_root, db)
    assert third.deleted == ["images/dogs/dogs_2.png"]
    assert third.new == ["text/poems/old/older/a.txt"]
    assert len(walks) == 3


def test_other_include_or_exclude_do_not_use_the_state(data_root: Path, tmp_path: Path,
                                                       walks: list[str]) -> None:
    db = tmp_path / "c.sqlite"
    _scan(data_root, db)
    narrow = _scan(data_root, db, exclude=["images/**"])
    assert len(walks) == 2
    assert not any(p.startswith("images/") for p in (r.path for r in narrow.records))
    assert sorted(narrow.deleted) == sorted(
        f"images/{label}/{label}_{k}.png" for label in ("cats", "dogs") for k in range(3))


def test_a_tree_with_a_link_is_always_walked(data_root: Path, tmp_path: Path,
                                             walks: list[str]) -> None:
    db = tmp_path / "c.sqlite"
    (data_root / "text" / "latest").symlink_to(data_root / "text" / "news")
    first = _scan(data_root, db)
    (data_root / "text" / "news" / "1.txt").write_text("Rewritten news, seen through the link.\n")
    again = _scan(data_root, db)
    assert len(walks) == 2 and again.changed == ["text/news/1.txt"]
    assert dict(again.skipped) == dict(first.skipped)


def test_a_fresh_folder_is_not_trusted(data_root: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real margin, folders changed just before a scan are walked next time."""
    assert folder_state.RACY_NS >= 1_000_000_000
    db = tmp_path / "c.sqlite"
    with Catalog(db) as catalog:
        scan_folder(data_root, catalog, workers=0)
        state = folder_state.load(catalog.folder_state(data_root))
    assert state is not None
    real_root = os.path.realpath(data_root)
    params = folder_state.params_of(("**/*",), (), True)
    assert not folder_state.unchanged(real_root, state, params)  # written a moment ago
    monkeypatch.setattr(folder_state, "RACY_NS", 0)
    time.sleep(TICK)
    with Catalog(db) as catalog:
        scan_folder(data_root, catalog, workers=0)  # finds nothing new; stores a state it trusts
        state = folder_state.load(catalog.folder_state(data_root))
    assert folder_state.unchanged(real_root, state, params)
