"""check_data_folder: a folder that cannot hold data fails before any scan, for good."""
from __future__ import annotations

import pytest

from training_lib.data.scan.roots import check_data_folder
from training_lib.errors import DataFolderError, NotRetryable


def test_missing_file_empty_and_hidden_only_folders_are_refused(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "hidden" / ".git").mkdir(parents=True)
    (tmp_path / "hidden" / ".git" / "HEAD").write_text("ref")
    (tmp_path / "hidden" / ".DS_Store").write_text("")
    for name, said in (("missing", "does not exist"), ("file.txt", "is a file"),
                       ("empty", "is empty"), ("hidden", "is empty")):
        with pytest.raises(DataFolderError, match=said) as raised:
            check_data_folder(tmp_path / name)
        assert isinstance(raised.value, NotRetryable)
        assert "train --data DIR" in str(raised.value)


def test_a_folder_with_one_file_deep_down_passes(tmp_path):
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "img.png").write_bytes(b"\x89PNG")
    check_data_folder(tmp_path)
