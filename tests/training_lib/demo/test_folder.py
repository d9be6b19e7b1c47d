"""The demo folder, scanned: every file's type and every deliberate flaw must be found."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training_lib.data.catalog import Catalog
from training_lib.demo.folder import MANIFEST, load_manifest, make_demo_data
from training_lib.data.scan.scanner import scan_folder
from training_lib.errors import DataError


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    summary = make_demo_data(out, audio_per_word=3, text_per_category=12, install=False)
    return out, summary


def test_demo_has_every_kind_and_about_ten_percent_flaws(demo: tuple[Path, dict]) -> None:
    out, summary = demo
    truth = load_manifest(out)
    assert summary["files"] == len(truth) == sum(1 for p in out.rglob("*") if p.is_file()) - 1
    kinds = {item["type"] for item in truth.values()}
    assert {"image", "text", "json", "tabular", "code", "document", "video"} <= kinds
    if "espeak-ng" not in summary["missing"]:
        assert "audio" in kinds and (out / "pairs.jsonl").is_file()
    formats = {(item["type"], item["format"]) for item in truth.values()}
    assert {("image", "png"), ("image", "jpeg"), ("document", "pdf"), ("document", "docx"),
            ("video", "mp4"), ("tabular", "csv")} <= formats
    records = [json.loads(line) for p in (out / "math").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert records and all(str(eval(r["problem"])) == r["answer"] for r in records[:200])  # noqa: S307
    assert summary["flawed"] >= 0.05 * summary["files"]


def test_scan_finds_every_type_and_every_flaw(demo: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = demo
    truth = load_manifest(out)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        report = scan_folder(out, catalog, workers=2)
    found = {r.path: r for r in report.records}
    assert set(found) == set(truth)  # the hidden manifest is skipped
    wrong_type = {p: (t["type"], found[p].type) for p, t in truth.items() if found[p].type != t["type"]}
    assert wrong_type == {}
    missed = {p: (t["flags"], found[p].flags) for p, t in truth.items() if not set(t["flags"]) <= set(found[p].flags)}
    assert missed == {}
    extra = {p: found[p].flags for p, t in truth.items() if not t["flags"] and found[p].flags}
    # the only flag a good demo file may carry: a near copy of another (a handwritten digit, or
    # a fortune the source itself repeats with other line breaks)
    assert set(f for flags in extra.values() for f in flags) <= {"near_duplicate"}
    assert len(extra) <= 0.01 * len(truth)
    labels = {p: found[p].label for p, t in truth.items() if t["label"] and p.startswith(("images/", "text/"))}
    assert labels == {p: truth[p]["label"] for p in labels}


def test_regenerating_replaces_the_demo_but_refuses_foreign_folders(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("not demo data")
    with pytest.raises(DataError, match="not demo data"):
        make_demo_data(foreign, audio_per_word=1, text_per_category=2, install=False)
    assert (foreign / "thesis.txt").read_text() == "not demo data"
    assert not (foreign / MANIFEST).exists()


def _hashes(root: Path) -> dict[str, str]:
    import hashlib

    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(demo: tuple[Path, dict], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 8: the dataset fingerprint and test split must not change between two
    `make demo`. The second run's clock is an hour later, so any timestamp written into a
    file (ZIP entries of the DOCX files, document metadata) shows up as a difference."""
    import time

    out, _ = demo
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    again = tmp_path / "demo"
    make_demo_data(again, audio_per_word=3, text_per_category=12, install=False)
    first, second = _hashes(out), _hashes(again)
    assert sorted(first) == sorted(second)
    assert [p for p in first if first[p] != second[p]] == []
    assert any(p.endswith(".docx") for p in first)  # the files that used to differ
