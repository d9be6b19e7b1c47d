"""`python -m training_lib scan` and `demo-data` through the real argument parser."""
from __future__ import annotations

import json
from pathlib import Path

from training_lib.cli import build_parser, main


def test_scan_command_writes_catalog_report_and_json(data_root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["scan", str(data_root), "--catalog", str(out / "c.sqlite"), "--json", str(out / "files.jsonl"),
                 "--report", str(out / "report.html"), "--workers", "0"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "image" in printed and "vision_service" in printed
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
