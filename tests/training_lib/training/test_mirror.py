"""Checkpoints mirrored to an fsspec URL: a worker without the run folder's disk pulls
them and resumes from the newest one that verifies; retention follows the local store;
a storage outage never stops training."""
from __future__ import annotations

import uuid

import fsspec
import numpy as np
import pytest

from training_lib.runs.folder import RunFolder
from training_lib.training.checkpoints import CheckpointStore
from training_lib.training.mirror import CheckpointMirror


def _arrays(value: float) -> dict[str, np.ndarray]:
    return {"model/00000": np.full((3, 2), value, dtype=np.float32)}


@pytest.fixture()
def url() -> str:
    return f"memory://tlib-test-{uuid.uuid4().hex}/dag/run/models/m/round_1/checkpoints"


def _train(folder, url: str, steps=(10, 20, 30, 40)) -> CheckpointStore:
    store = CheckpointStore(folder, keep_last=2, keep_best=False, mirror=CheckpointMirror(url))
    for step in steps:
        store.save(step, {"epoch": 0, "step_in_epoch": step}, _arrays(step))
    store.close()
    return store


def test_another_worker_pulls_the_checkpoints_and_resumes_from_the_newest(tmp_path, url):
    _train(tmp_path / "worker_a", url)
    fs = fsspec.filesystem("memory")
    remote = sorted(p.rsplit("/", 1)[1] for p in fs.ls(url, detail=False))
    assert remote == ["ckpt-00000030.json", "ckpt-00000030.npz",
                      "ckpt-00000040.json", "ckpt-00000040.npz"]  # pruned like the local store

    other = tmp_path / "worker_b" / "checkpoints"  # no shared disk: starts empty
    assert CheckpointMirror(url).pull(other) == ["ckpt-00000030", "ckpt-00000040"]
    latest = CheckpointStore(other).latest()
    assert latest.step == 40
    np.testing.assert_array_equal(latest.arrays["model/00000"], _arrays(40)["model/00000"])


def test_a_damaged_remote_checkpoint_falls_back_to_the_previous_one(tmp_path, url):
    _train(tmp_path / "worker_a", url)
    fs = fsspec.filesystem("memory")
    newest = f"{url}/ckpt-00000040.npz"
    data = bytearray(fs.cat_file(newest))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(newest, bytes(data))
    other = tmp_path / "worker_b"
    CheckpointMirror(url).pull(other)
    assert CheckpointStore(other).latest().step == 30


def test_an_uncommitted_upload_is_not_pulled(tmp_path, url):
    _train(tmp_path / "worker_a", url, steps=(10,))
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"{url}/ckpt-00000020.npz", b"arrays whose marker never arrived")
    assert CheckpointMirror(url).pull(tmp_path / "b") == ["ckpt-00000010"]


def test_storage_outage_does_not_stop_training(tmp_path, url):
    class Broken:
        def makedirs(self, *a, **k):
            raise ConnectionError("endpoint unreachable")

    mirror = CheckpointMirror(url, fs=Broken())
    store = CheckpointStore(tmp_path, mirror=mirror, asynchronous=False)
    store.save(5, {"epoch": 0, "step_in_epoch": 5}, _arrays(5))
    store.save(6, {"epoch": 0, "step_in_epoch": 6}, _arrays(6))
    assert store.latest().step == 6 and mirror.failures == 2


def test_the_url_comes_from_the_environment_and_keeps_the_run_layout(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    folder = RunFolder(runs / "dag" / "run").round("m", 1).checkpoints
    assert CheckpointMirror.for_folder(folder, runs) is None
    monkeypatch.setenv("TLIB_CHECKPOINT_URL", "memory://bucket/prefix/")
    mirror = CheckpointMirror.for_folder(folder, runs)
    assert mirror.root.endswith("bucket/prefix/dag/run/models/m/round_1/checkpoints")
