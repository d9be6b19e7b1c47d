"""Glob semantics of include/exclude and the walker's refusals."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from training_lib.data.scan.walk import matches, walk


@pytest.mark.parametrize("pattern, path, expected", [
    ("**/*", "a.png", True), ("**/*", "x/y/a.png", True), ("*.png", "x/a.png", False),
    ("images/**/*.png", "images/a.png", True), ("images/**/*.png", "images/3/b/a.png", True),
    ("images/*.png", "images/3/a.png", False), ("**/dogs/*", "images/dogs/a.png", True),
    ("text/[ab]*.txt", "text/b1.txt", True), ("text/[!ab]*.txt", "text/b1.txt", False),
    ("flawed/**", "flawed/x/y.bin", True), ("?.txt", "ab.txt", False),
])
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected


def test_excluded_folders_are_not_entered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training_lib.data.scan import walk as walk_module

    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "a.txt").write_text("a")
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "b.txt").write_text("b")
    entered: list[str] = []
    real = os.scandir

    def spy(folder: int) -> object:  # the walker lists folders by descriptor
        entered.append(os.path.basename(os.readlink(f"/proc/self/fd/{folder}")))
        return real(folder)

    monkeypatch.setattr(walk_module.os, "scandir", spy)
    files, skipped = walk(tmp_path, exclude=("drop/**",))
    assert [f.rel for f in files] == ["keep/a.txt"] and skipped == []
    assert "drop" not in entered and "keep" in entered


def test_special_files_and_dangling_links_are_reported(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "a")  # a second name for a walked folder
    (tmp_path / "a" / "f.txt").write_text("f")
    files, skipped = walk(tmp_path)
    assert [f.rel for f in files] == ["a/f.txt"]
    assert dict(skipped) == {"pipe": "not_a_regular_file", "dangling": "broken_symlink",
                             "b": "symlink_to_walked_folder"}
