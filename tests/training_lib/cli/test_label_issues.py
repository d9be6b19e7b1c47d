"""`python -m training_lib label-issues RUN` prints each flagged file with its labels."""
from __future__ import annotations

from training_lib.cli import main
from training_lib.runs.context import start_run

from tests.fixtures.label_issues import ISSUES


def test_label_issues_prints_the_flagged_files(tmp_path, capsys):
    ctx = start_run("label_issues_cli", "li-1", "quick_start", {"data_folder": str(tmp_path)})
    assert main(["label-issues", str(ctx.run_dir)]) == 0
    assert "no label issues recorded" in capsys.readouterr().out
    ctx.round("vision_service").path.mkdir(parents=True)
    ctx.write_json(ctx.round("vision_service").label_issues, ISSUES)
    assert main(["label-issues", "label_issues_cli/li-1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("vision_service: 2 of 400 training files look mislabeled")
    assert out[1:] == ["  images/3/a.png  given '3', suggested '8' (confidence 0.970)",
                       "  images/1/b.png  given '1', suggested '7' (confidence 0.880)"]
    assert main(["label-issues", str(ctx.run_dir), "--model", "logic_model"]) == 0
    assert "model 'logic_model'" in capsys.readouterr().out
