"""The SQLite catalog: versions, current view, fingerprint."""
from __future__ import annotations

import shutil
from pathlib import Path

from training_lib.data.catalog import Catalog, default_catalog, fingerprint
from training_lib.data.records import FileRecord
from training_lib.data.scan.scanner import scan_folder


def _rec(path: str, content_hash: str) -> FileRecord:
    return FileRecord(path, 1, 1, content_hash, "text", "plain")


def test_fingerprint_depends_on_content_not_names_or_order() -> None:
    a = [_rec("x.txt", "aa"), _rec("y.txt", "bb")]
    renamed = [_rec("z/other.txt", "bb"), _rec("q.txt", "aa")]
    assert fingerprint(a) == fingerprint(renamed)
    assert fingerprint(a) != fingerprint([_rec("x.txt", "aa"), _rec("y.txt", "bc")])
    assert len(fingerprint(a)) == 64


def test_catalog_keeps_roots_apart_and_survives_reopen(data_root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(data_root / "text", other / "text")
    db = tmp_path / "c.sqlite"
    with Catalog(db) as catalog:
        scan_folder(data_root, catalog, workers=0)
        scan_folder(other, catalog, workers=0)
    with Catalog(db) as catalog:
        mine = catalog.current(data_root)
        theirs = catalog.current(other)
    assert len(mine) == 11 and len(theirs) == 4
    assert all(r.path.startswith("text/") for r in theirs)
    assert mine[0].meta and isinstance(mine[0].flags, tuple)


def test_current_round_trips_every_field(data_root: Path, tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as catalog:
        report = scan_folder(data_root, catalog, workers=0)
        assert catalog.current(data_root) == report.records


def test_default_catalog_lives_in_the_store(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TLIB_STORE_DIR", str(tmp_path / "store"))
    catalog = default_catalog()
    try:
        assert catalog.db_path == tmp_path / "store" / "catalog.sqlite"
        assert catalog.db_path.is_file()
    finally:
        catalog.close()


def test_snapshot_agrees_with_the_rows_after_every_kind_of_change(data_root: Path, tmp_path: Path) -> None:
    """current() reads a snapshot written with each changing scan; the rows are the truth."""
    db = tmp_path / "c.sqlite"
    with Catalog(db) as catalog:
        scan_folder(data_root, catalog, workers=0)
        (data_root / "text" / "news" / "0.txt").write_text("rewritten news of the day\n")
        (data_root / "images" / "cats" / "cats_1.png").unlink()
        shutil.copy(data_root / "text" / "poems" / "0.txt", data_root / "text" / "poems" / "9.txt")
        scan_folder(data_root, catalog, workers=0)
        scan_folder(data_root, catalog, workers=0)  # unchanged: no rows, no snapshot written
        assert catalog.current(data_root) == catalog._current_rows(data_root)
        assert [s["unchanged"] for s in catalog.scans(data_root)] == [0, 0, 1]


def test_names_that_are_not_utf8_round_trip_through_rows_and_snapshot(tmp_path: Path) -> None:
    import os

    root = tmp_path / "r\udcfe"  # even the root may hold such bytes
    os.makedirs(os.fsencode(root) + b"/text/b\xe9")
    os.makedirs(os.fsencode(root) + b"/text/c")
    names = (b"text/b\xe9/bad\xff.txt", b"text/b\xe9/good.txt", b"text/c/other.txt",
             b"text/c/more.txt")
    for i, name in enumerate(names):  # two sibling class folders of text: labels b\xe9, c
        with open(os.fsencode(root) + b"/" + name, "wb") as fh:
            fh.write(b"plain words of a sentence, repeated to make a text file %d\n" % i * 5)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0, min_class_files=2)
        bad = "text/b\udce9/bad\udcff.txt"
        assert sorted(r.path for r in report.records)[:2] == [bad, "text/b\udce9/good.txt"]
        assert {r.label for r in report.records} == {"b\udce9", "c"}
        def by_path(rows):
            return sorted(rows, key=lambda r: r.path)

        assert by_path(catalog._current_rows(root)) == by_path(catalog.current(root)) \
            == by_path(report.records)
        assert [v["current"] for v in catalog.versions(root, bad)] == [1]
        assert catalog.scans(root)[0]["root"] == os.path.realpath(root)
        os.unlink(os.fsencode(root / bad))
        again = scan_folder(root, catalog, workers=0)
        assert again.deleted == [bad]
        assert catalog.versions(root, bad)[0]["deleted_scan"] == again.scan_id
        assert sorted(r.path for r in catalog._current_rows(root))[:1] == ["text/b\udce9/good.txt"]
