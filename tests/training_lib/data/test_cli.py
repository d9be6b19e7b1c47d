"""`python -m training_lib scan` and `demo-data` through the real argument parser."""
from __future__ import annotations

import json
from pathlib import Path

from training_lib.cli import build_parser, main


def test_scan_command_writes_catalog_report_and_json(data_root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["scan", str(data_root), "--catalog", str(out / "c.sqlite"), "--json", str(out / "files.jsonl"),
                 "--report", str(out / "report.html"), "--workers", "0", "--min-class-files", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "image" in printed and "vision_service" in printed
    assert "  images: 2 classes of image (cats 3, dogs 3) [inferred]\n" in printed
    groups = json.loads((out / "files.labels.json").read_text())
    assert {g["folder"]: g["classes"] for g in groups}["text"] == {"news": 2, "poems": 2}
    lines = [json.loads(line) for line in (out / "files.jsonl").read_text().splitlines()]
    assert len(lines) == 11
    first = {item["path"]: item for item in lines}["images/cats/cats_0.png"]
    assert (first["type"], first["format"], first["label"], first["flags"]) == ("image", "png", "cats", [])
    assert 0.0 <= first["score"] <= 1.0
    html = (out / "report.html").read_text()
    assert "Files by type" in html and (out / "c.sqlite").is_file()


def test_scan_report_lists_flagged_files(samples: Path, tmp_path: Path, capsys) -> None:
    assert main(["scan", str(samples), "--catalog", str(tmp_path / "c.sqlite"),
                 "--report", str(tmp_path / "r.html"), "--workers", "2"]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "flawed/truncated.png" in html and "truncated" in html
    assert "bomb" in capsys.readouterr().out


def test_demo_data_is_registered_under_its_dashed_name() -> None:
    args = build_parser().parse_args(["demo-data", "--out", "somewhere", "--no-install"])
    assert args.command == "demo-data" and args.out == Path("somewhere") and args.no_install


def test_scan_of_names_that_are_not_utf8_writes_catalog_json_and_report(tmp_path: Path,
                                                                         capsys) -> None:
    import os

    root = tmp_path / "data"
    (root / "text" / "a").mkdir(parents=True)
    (root / "text" / "a" / "good.txt").write_text("an ordinary text file with words\n" * 5)
    fd = os.open(os.fsencode(root) + b"/text/a/bad\xff.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"a text file whose name is not UTF-8 at all\n" * 5)
    os.close(fd)
    out = tmp_path / "out"
    assert main(["scan", str(root), "--catalog", str(out / "c.sqlite"), "--json",
                 str(out / "files.jsonl"), "--report", str(out / "report.html"),
                 "--workers", "0"]) == 0
    assert f"{root}: 2 files in" in capsys.readouterr().out
    lines = [json.loads(line) for line in (out / "files.jsonl").read_text("ascii").splitlines()]
    paths = sorted(item["path"] for item in lines)
    assert paths == ["text/a/bad\udcff.txt", "text/a/good.txt"]
    assert os.fsencode(paths[0]) == b"text/a/bad\xff.txt"  # the JSON gives the exact bytes back
    from training_lib.data.catalog import Catalog

    with Catalog(out / "c.sqlite") as catalog:
        assert sorted(r.path for r in catalog._current_rows(root)) == paths
    # the report lists flagged files: an empty one with a name that is not UTF-8
    (root / "text" / "a" / "good.txt").write_bytes(b"")
    os.rename(os.fsencode(root) + b"/text/a/good.txt", os.fsencode(root) + b"/text/a/e\xfe.txt")
    assert main(["scan", str(root), "--catalog", str(out / "c.sqlite"), "--report",
                 str(out / "report.html"), "--workers", "0"]) == 0
    html = (out / "report.html").read_text("utf-8")
    assert "<code>text/a/e\\xfe.txt</code>" in html


def test_scan_prints_the_label_set_of_each_folder_or_why_none(tmp_path: Path, capsys) -> None:
    from tests.fixtures.label_layouts import write_messy_folder

    root = write_messy_folder(tmp_path / "data")
    assert main(["scan", str(root), "--catalog", str(tmp_path / "c.sqlite"), "--json",
                 str(tmp_path / "files.jsonl"), "--report", str(tmp_path / "r.html"),
                 "--workers", "0"]) == 0
    printed = capsys.readouterr().out
    section = printed[printed.index("\nlabels (class folders of >= 5 files"):]
    for line in (
            "  text: 3 classes of text (news 6, poems 6, recipes 6) [inferred]",
            "      not a class: haiku (1 text file, fewer than min_class_files=5)",
            "  images: 2 classes of image (cats 5, dogs 5) [inferred]",
            "      unlabelled, not image: images/cats/notes.txt, images/dogs/notes.txt",
            "  misc/deep: no labels (no subfolder holds enough files of one type to be a class)",
            "      not a class: arithmetic (mostly json (6 of 8 files), labelled by their fields)"):
        assert line + "\n" in section, line
    files = {json.loads(x)["path"]: json.loads(x) for x in (tmp_path / "files.jsonl").read_text().splitlines()}
    assert files["misc/deep/l01/x0.txt"]["label"] is None and files["text/news/0.txt"]["label"] == "news"
