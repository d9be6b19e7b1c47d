"""The README's preset table is generated from the presets and kept in sync."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib import settings
from training_lib.cli import main
from training_lib.cli.presets import TABLE_BEGIN, TABLE_END, markdown_table, table_in, with_table
from training_lib.config import load_all
from training_lib.errors import PresetError

README = settings.PROJECT_ROOT / "README.md"


def test_readme_table_is_the_generated_one() -> None:
    good, bad = load_all()
    assert bad == {}
    assert table_in(README.read_text(), README) == markdown_table(good), (
        "README.md's presets table is stale: run "
        "`python -m training_lib presets markdown --readme README.md`")


def test_table_rows_come_from_the_presets() -> None:
    good, _ = load_all()
    rows = markdown_table(good).splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in rows] == sorted(good)
    quick = next(row for row in rows if row.startswith("| `quick_start` |"))
    cells = [cell.strip() for cell in quick.split("|")[1:-1]]
    s = good["quick_start"].settings
    assert cells[1:5] == [", ".join(good["quick_start"].models), str(s.epochs), str(s.rounds),
                          s.schedule or "-"]


def test_readme_option_rewrites_only_the_block(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\nbefore\n{TABLE_BEGIN}\n| stale |\n{TABLE_END}\nafter\n")
    assert main(["presets", "markdown", "--readme", str(readme)]) == 0
    text = readme.read_text()
    good, _ = load_all()
    assert text == (f"# T\n\nbefore\n{TABLE_BEGIN}\n{markdown_table(good)}{TABLE_END}\nafter\n")
    assert with_table(text, markdown_table(good)) == text  # idempotent
    with pytest.raises(PresetError, match="no presets table"):
        table_in("# no markers\n")
