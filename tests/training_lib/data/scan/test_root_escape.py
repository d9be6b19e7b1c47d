"""No read outside the data root, race or no race: a folder swapped for a link to a
folder outside the root while scans run, and roots that are system folders."""
from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from pathlib import Path

import pytest

from training_lib.data.catalog import Catalog
from training_lib.data.scan import dirfd
from training_lib.data.scan.roots import ALLOW_ENV
from training_lib.data.scan.scanner import scan_folder
from training_lib.data.scan.walk import walk
from training_lib.errors import DataError

N_FILES = 40


def _fill(folder: Path, token: str, prefix: str) -> set[str]:
    """Text and JSON files that all carry `token`; returns their sha256s."""
    folder.mkdir(parents=True)
    hashes = set()
    for i in range(N_FILES):
        if i % 2:
            data = json.dumps({"problem": f"{i}+1", "answer": token}).encode()
            path = folder / f"{prefix}{i}.json"
        else:
            data = f"{token} line {i}\n".encode() * 20
            path = folder / f"{prefix}{i}.txt"
        path.write_bytes(data)
        hashes.add(hashlib.sha256(data).hexdigest())
    return hashes


def test_a_folder_swapped_for_a_link_out_of_the_root_is_never_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    canary_token = f"CANARY-{uuid.uuid4().hex}"
    # the canary mirrors the real folder's names (sub/deep/f0.txt ...), so a path the walk
    # listed leads to canary content once sub/ is a link, and has names of its own
    canary_hashes = (_fill(tmp_path / "outside" / "deep", canary_token, "f")
                     | _fill(tmp_path / "outside" / "more", canary_token, "canary_only_"))
    _fill(root / "sub" / "deep", "inside", "f")
    _fill(root / "keep", "kept", "k")
    sub, parked, link = root / "sub", tmp_path / "parked", tmp_path / "link"
    link.symlink_to(tmp_path / "outside", target_is_directory=True)
    stop, swaps = threading.Event(), [0]

    def swapper() -> None:  # sub: real folder -> link to outside -> real folder ...
        while not stop.is_set():
            os.rename(sub, parked)
            os.rename(link, sub)
            os.rename(sub, link)
            os.rename(parked, sub)
            swaps[0] += 1

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    reports = []
    try:
        for i in range(32):  # fresh catalogs, so every scan reads every file again
            db = tmp_path / f"c{i}.sqlite"
            with Catalog(db) as catalog:
                reports.append(scan_folder(root, catalog, workers=0 if i % 2 else 2))
    finally:
        stop.set()
        thread.join()
    assert swaps[0] > 32, "the swap did not overlap the scans"
    for i, report in enumerate(reports):
        paths = {r.path for r in report.records}
        assert not any("canary_only_" in p for p in paths), paths
        assert not canary_hashes & {r.content_hash for r in report.records}
        assert canary_token not in json.dumps([r.meta for r in report.records])
        assert canary_token.encode() not in (tmp_path / f"c{i}.sqlite").read_bytes()
        assert sum(p.startswith("keep/") for p in paths) == N_FILES  # untouched folder: all there
    # the swap really was seen: sub/ found as a link, replaced, or a file gone when probed
    reasons = {reason for r in reports for _, reason in r.skipped}
    unreadable = [r.path for rep in reports for r in rep.records if "unreadable" in r.flags]
    assert reasons & {"symlink_outside_root", "changed_during_scan"} or unreadable


def test_a_file_replaced_after_the_walk_is_not_probed(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("inside\n")
    outside.mkdir()
    (outside / "x.txt").write_text("secret\n")
    (entry,), _ = walk(root)
    ref = dirfd.FileRef(os.path.realpath(root), entry.real, entry.dev, entry.ino)
    os.close(dirfd.open_file(ref))  # the file the walk saw opens
    os.rename(root / "a", tmp_path / "a_moved")
    (root / "a").symlink_to(outside)
    with pytest.raises(OSError):  # a link on the way: ELOOP/ENOTDIR, not outside/x.txt
        dirfd.open_file(ref)
    (root / "a").unlink()
    (root / "a").mkdir()
    (root / "a" / "x.txt").write_text("another file, same name\n")
    with pytest.raises(dirfd.ChangedDuringScan):
        dirfd.open_file(ref)


@pytest.mark.parametrize("folder", ["/", "/etc", "/etc/ssl", "/proc", "/sys", "/dev", "/boot",
                                    "/root"])
def test_system_folders_are_refused_as_data_roots(folder: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(DataError) as error, Catalog(tmp_path / "c.sqlite") as catalog:
        scan_folder(Path(folder), catalog, workers=0)
    assert repr(folder) in str(error.value) and ALLOW_ENV in str(error.value)


def test_var_is_refused_as_a_root_and_skipped_inside_one(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    var = tmp_path / "project" / "var"
    monkeypatch.setenv("TLIB_VAR_DIR", str(var))
    (var / "airflow").mkdir(parents=True)
    (var / "airflow" / "passwords.json").write_text('{"admin": "s3cret"}')
    (tmp_path / "project" / "data.txt").write_text("data\n")
    with pytest.raises(DataError, match=ALLOW_ENV):
        walk(var / "airflow")
    files, skipped = walk(tmp_path / "project")
    assert [f.rel for f in files] == ["data.txt"] and ("var", "protected_folder") in skipped
    monkeypatch.setenv(ALLOW_ENV, "1")
    files, _ = walk(var)
    assert [f.rel for f in files] == ["airflow/passwords.json"]
