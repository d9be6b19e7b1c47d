"""scan_folder: incremental rescans, labels and splits, symlinks, time limits, read-only."""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest

from training_lib.data.scan import probe as probe_module
from training_lib.data import records
from training_lib.data.catalog import Catalog
from training_lib.data.scan.scanner import scan_folder


def _scan(root: Path, db: Path, **kw: object):
    with Catalog(db) as catalog:
        return scan_folder(root, catalog, **kw)


def test_labels_splits_and_types(data_root: Path, tmp_path: Path) -> None:
    # the fixture's classes hold 3 images and 2 texts: class folders at min_class_files=2
    report = _scan(data_root, tmp_path / "c.sqlite", workers=0, min_class_files=2)
    by_path = {r.path: r for r in report.records}
    assert by_path["images/cats/cats_0.png"].label == "cats"
    assert by_path["text/poems/1.txt"].label == "poems"
    assert by_path["math/sums.jsonl"].label is None  # labels of records live in the records
    assert by_path["math/sums.jsonl"].meta["record_format"] == "arithmetic"
    assert by_path["math/sums.jsonl"].meta["n_records"] == 20
    for r in report.records:
        assert r.split == records.split_of(r.content_hash)
    assert sorted(report.new) == sorted(by_path)
    assert report.fingerprint and report.unchanged == 0


def test_incremental_rescan_reports_new_changed_deleted(data_root: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    first = _scan(data_root, db, workers=0)
    again = _scan(data_root, db, workers=0)
    assert (again.new, again.changed, again.deleted, again.inspected) == ([], [], [], 0)
    assert again.unchanged == len(first.records)
    assert again.fingerprint == first.fingerprint

    (data_root / "text" / "news" / "2.txt").write_text("Fresh news arrived today about the harbour.\n")
    (data_root / "text" / "poems" / "0.txt").write_text("A different poem, rewritten in the spring.\n")
    (data_root / "images" / "dogs" / "dogs_2.png").unlink()
    os.utime(data_root / "text" / "news" / "0.txt")  # touched, same bytes: read again, not changed
    third = _scan(data_root, db, workers=0)
    assert third.new == ["text/news/2.txt"]
    assert third.changed == ["text/poems/0.txt"]
    assert third.deleted == ["images/dogs/dogs_2.png"]
    assert third.inspected == 3
    assert third.unchanged == len(third.records) - 2
    assert third.fingerprint != first.fingerprint

    with Catalog(db) as catalog:
        versions = catalog.versions(data_root, "text/poems/0.txt")
        assert [v["current"] for v in versions] == [0, 1]  # one row per file version
        gone = catalog.versions(data_root, "images/dogs/dogs_2.png")
        assert gone[-1]["current"] == 0 and gone[-1]["deleted_scan"] is not None
        assert {r.path for r in catalog.current(data_root)} == {r.path for r in third.records}
        assert len(catalog.scans(data_root)) == 3


def test_a_folder_whose_mtime_did_not_move_is_still_checked_file_by_file(
        data_root: Path, tmp_path: Path) -> None:
    """An edit in place changes the file's mtime, not its folder's; and a folder's mtime
    can stay put across a change (coarse timestamps, or reset by a copy tool). A rescan
    must neither trust the folder's mtime for its files' content nor for its names."""
    db = tmp_path / "c.sqlite"
    _scan(data_root, db, workers=0)
    folder = data_root / "text" / "poems"
    before = folder.stat()
    edited = folder / "0.txt"
    old = edited.read_bytes()
    with open(edited, "r+b") as fh:  # same size, other bytes: only the mtime tells
        fh.write(bytes(b ^ 0x20 if chr(b).isalpha() else b for b in old[:8]))
    stat = edited.stat()
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert folder.stat().st_mtime_ns == before.st_mtime_ns and edited.stat().st_size == len(old)
    again = _scan(data_root, db, workers=0)
    assert again.changed == ["text/poems/0.txt"] and again.inspected == 1 and again.new == []

    (folder / "9.txt").write_text("A poem that arrived after the scan, in the same folder.\n")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # the folder looks untouched
    third = _scan(data_root, db, workers=0)
    assert third.new == ["text/poems/9.txt"] and third.changed == [] and third.inspected == 1
    assert "text/poems/9.txt" in {r.path for r in third.records}


def test_rescan_recomputes_duplicates_of_unchanged_files(data_root: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    _scan(data_root, db, workers=0)
    shutil.copy(data_root / "text" / "news" / "0.txt", data_root / "text" / "news" / "zz.txt")
    report = _scan(data_root, db, workers=0)
    assert {r.path: r.flags for r in report.records}["text/news/zz.txt"] == ("duplicate",)
    (data_root / "text" / "news" / "zz.txt").unlink()
    with Catalog(db) as catalog:
        assert "duplicate" not in {f for r in scan_folder(data_root, catalog, workers=0).records for f in r.flags}


def test_symlink_escape_and_loop_are_skipped(data_root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the data root: must never be read\n")
    (data_root / "text" / "news" / "leak.txt").symlink_to(secret)
    (data_root / "images" / "loop").symlink_to(data_root / "images")
    (data_root / "escape").symlink_to(tmp_path)
    (data_root / "alias.txt").symlink_to(data_root / "text" / "news" / "0.txt")  # inside: followed
    report = _scan(data_root, tmp_path / "c.sqlite", workers=0)
    skipped = dict(report.skipped)
    assert skipped["text/news/leak.txt"] == "symlink_outside_root"
    assert skipped["escape"] == "symlink_outside_root"
    assert skipped["images/loop"] == "symlink_loop"
    paths = {r.path for r in report.records}
    assert "alias.txt" in paths and not any(p.startswith(("escape", "images/loop")) for p in paths)
    secret_hash = hashlib.sha256(secret.read_bytes()).hexdigest()
    assert secret_hash not in {r.content_hash for r in report.records}


def test_nothing_outside_the_root_is_opened(data_root: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text("private\n")
    (data_root / "link.txt").symlink_to(tmp_path / "secret.txt")
    opened: list[str] = []
    real_open = os.open

    def spy(path: str, *args: object, dir_fd: int | None = None, **kwargs: object) -> int:
        # folders and files are opened relative to their folder's descriptor
        base = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else ""
        opened.append(os.path.realpath(os.path.join(base, path)))
        return real_open(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(probe_module.os, "open", spy)
    _scan(data_root, tmp_path / "c.sqlite", workers=0)
    root = os.path.realpath(data_root)
    assert opened and all(p == root or p.startswith(root + os.sep) for p in opened)


def test_data_files_are_never_modified(data_root: Path, tmp_path: Path, samples: Path) -> None:
    shutil.copytree(samples / "flawed", data_root / "flawed")
    before = {p: (p.stat().st_mtime_ns, p.stat().st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
              for p in data_root.rglob("*") if p.is_file()}
    _scan(data_root, tmp_path / "c.sqlite", workers=2)
    after = {p: (p.stat().st_mtime_ns, p.stat().st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
             for p in data_root.rglob("*") if p.is_file()}
    assert after == before


def test_every_flagged_file_appears_with_its_reason(samples: Path, tmp_path: Path,
                                                    flaws: dict[str, list[str]]) -> None:
    report = _scan(samples, tmp_path / "c.sqlite", workers=2)
    flags = {r.path: r.flags for r in report.records}
    for name, expected in flaws.items():
        assert set(expected) <= set(flags[f"flawed/{name}"]), name
    lines = {item["path"]: item for item in report.json_lines()}
    assert lines["flawed/truncated.png"]["flags"] == ["truncated"]
    assert lines["flawed/truncated.png"]["score"] == 0.0


def test_hidden_include_exclude(data_root: Path, tmp_path: Path) -> None:
    (data_root / ".cache").mkdir()
    (data_root / ".cache" / "x.txt").write_text("hidden folder content\n")
    (data_root / ".hidden.txt").write_text("hidden file content\n")
    paths = {r.path for r in _scan(data_root, tmp_path / "a.sqlite", workers=0).records}
    assert not any(p.startswith(".") for p in paths)
    shown = {r.path for r in _scan(data_root, tmp_path / "b.sqlite", workers=0, skip_hidden=False).records}
    assert {".hidden.txt", ".cache/x.txt"} <= shown
    only = _scan(data_root, tmp_path / "c.sqlite", workers=0, include=("images/**/*.png",), exclude=("**/dogs/*",))
    assert {r.path for r in only.records} == {f"images/cats/cats_{k}.png" for k in range(3)}


def test_per_file_time_limit_soft(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder that runs too long is interrupted; the scan finishes and flags that file."""
    from training_lib.data.quality import checks

    real = checks.assess

    def slow(data: bytes, type_: str, fmt: str, meta: dict, limits: object):
        if len(data) and b"poems number 1" in data:
            while True:
                sum(range(10_000))  # busy Python code: interruptible by the alarm
        return real(data, type_, fmt, meta, limits)

    monkeypatch.setattr(checks, "assess", slow)  # workers are forked and inherit the patch
    start = time.monotonic()
    report = _scan(data_root, tmp_path / "c.sqlite", workers=2, time_limit_s=0.5)
    assert time.monotonic() - start < 20
    flags = {r.path: r.flags for r in report.records}
    assert flags["text/poems/1.txt"] == ("timeout",)
    assert all(f == () for p, f in flags.items() if p != "text/poems/1.txt")
    assert {r.path: r.content_hash for r in report.records}["text/poems/1.txt"]  # hashed before the hang


def test_per_file_time_limit_hard_kill(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder deaf to the alarm (stuck in C, signals blocked) is killed by the parent."""
    import signal

    from training_lib.data.quality import checks

    real = checks.assess

    def stuck(data: bytes, type_: str, fmt: str, meta: dict, limits: object):
        if b"news number 0" in data:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)
        return real(data, type_, fmt, meta, limits)

    monkeypatch.setattr(checks, "assess", stuck)
    start = time.monotonic()
    report = _scan(data_root, tmp_path / "c.sqlite", workers=2, time_limit_s=0.3)
    assert time.monotonic() - start < 30
    flags = {r.path: r.flags for r in report.records}
    assert flags["text/news/0.txt"] == ("timeout",)
    assert len(report.records) == 11 and sum(1 for f in flags.values() if f) == 1


def test_a_crashing_decoder_costs_one_file(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training_lib.data.quality import checks

    real = checks.assess

    def crash(data: bytes, type_: str, fmt: str, meta: dict, limits: object):
        if b"poems number 0" in data:
            os._exit(139)  # what a segfaulting native decoder looks like to the parent
        return real(data, type_, fmt, meta, limits)

    monkeypatch.setattr(checks, "assess", crash)
    report = _scan(data_root, tmp_path / "c.sqlite", workers=2)
    flags = {r.path: r.flags for r in report.records}
    assert flags["text/poems/0.txt"] == ("crashed",)
    assert sum(1 for f in flags.values() if f) == 1


def test_missing_root_is_a_data_error(tmp_path: Path) -> None:
    from training_lib.errors import DataError

    with pytest.raises(DataError, match="not a folder"):
        _scan(tmp_path / "nope", tmp_path / "c.sqlite")


def test_labels_of_a_messy_folder_are_the_ones_a_user_predicts(tmp_path: Path) -> None:
    from tests.fixtures.label_layouts import write_messy_folder

    root = write_messy_folder(tmp_path / "data")
    report = _scan(root, tmp_path / "c.sqlite", workers=0)
    labelled = {}
    for r in report.records:
        if r.label:
            labelled.setdefault((r.type, r.label), []).append(r.path)
    assert {k: len(v) for k, v in labelled.items()} == {
        ("text", "news"): 6, ("text", "poems"): 6, ("text", "recipes"): 6,
        ("image", "cats"): 5, ("image", "dogs"): 5}
    # no junk classes: nested folders, the singleton, stray WAVs, the lone captions folder
    by_path = {r.path: r for r in report.records}
    for path in ("misc/deep/l01/x0.txt", "misc/backup/text/old0.txt", "text/haiku/only.txt",
                 "json/arithmetic/stray0.wav", "captions/caption_0.txt", "images/cats/notes.txt"):
        assert by_path[path].label is None, path
    groups = {g.folder: g for g in report.labels}
    assert groups["text"].left_out == {"haiku": "1 text file, fewer than min_class_files=5"}
    assert groups["json"].left_out["arithmetic"].startswith("mostly json (6 of 8 files)")
    assert groups["images"].strays == ("images/cats/notes.txt", "images/dogs/notes.txt")
    assert groups["."].line() == (".: no labels (only one subfolder (captions) qualifies: "
                                  "a class needs a sibling class)")


def test_a_rescan_relabels_when_min_class_files_changes(tmp_path: Path) -> None:
    from tests.fixtures.label_layouts import write_messy_folder

    root = write_messy_folder(tmp_path / "data")
    db = tmp_path / "c.sqlite"
    _scan(root, db, workers=0)
    again = _scan(root, db, workers=0, min_class_files=1)  # nothing changed on disk
    assert again.inspected == 0
    assert {r.path: r.label for r in again.records}["text/haiku/only.txt"] == "haiku"
    with Catalog(db) as catalog:  # the catalog holds the labels of the last scan
        assert {r.path: r.label for r in catalog.current(root)}["text/haiku/only.txt"] == "haiku"
