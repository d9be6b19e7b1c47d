"""Fixtures of the data tests: folders of real files, made at test time.

`samples` writes one small good file of every detectable type and one file per flaw
(`tests/fixtures/sample_files.py`) into a session folder; each test copies what it
needs into its own tmp_path so no test sees another's changes.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.fixtures import sample_files


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder: good/<name> for every detectable type, flawed/<name> for every flaw."""
    root = tmp_path_factory.mktemp("samples")
    good = sample_files.good_files()
    for name, (data, _, _) in good.items():
        (root / "good").mkdir(exist_ok=True)
        (root / "good" / name).write_bytes(data)
    for name, (data, _) in sample_files.flawed_files(good).items():
        (root / "flawed").mkdir(exist_ok=True)
        (root / "flawed" / name).write_bytes(data)
    return root


@pytest.fixture(scope="session")
def good_files() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, expected type, expected format), one file per detectable type."""
    return sample_files.good_files()


@pytest.fixture(scope="session")
def flaws(samples: Path) -> dict[str, list[str]]:
    return {name: flags for name, (_, flags) in sample_files.flawed_files(sample_files.good_files()).items()}


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A small labelled data root: images/<label>/, text/<label>/, a JSONL, a CSV."""
    root = tmp_path / "data"
    img = sample_files.image()
    for label, shade in (("cats", 0), ("dogs", 90)):
        for k in range(3):
            from PIL import ImageOps

            variant = ImageOps.posterize(img.rotate(30 * k + shade), 4 + k % 3)
            path = root / "images" / label / f"{label}_{k}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            variant.save(path)
    for label in ("news", "poems"):
        for k in range(2):
            path = root / "text" / label / f"{k}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{label} number {k}: " + sample_files.PROSE.decode())
    (root / "math").mkdir()
    (root / "math" / "sums.jsonl").write_text("".join(
        json.dumps({"problem": f"{a}+{a}", "answer": str(2 * a)}) + "\n" for a in range(20)))
    return root


if sys.platform == "win32":  # pragma: no cover
    collect_ignore = ["."]
