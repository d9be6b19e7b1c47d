"""CheckpointStore: atomic commit, checksum fallback, retention, clear disk-full errors."""
from __future__ import annotations

import errno
import json

import numpy as np
import pytest

from training_lib.errors import CheckpointError
from training_lib.training import checkpoints
from training_lib.training.checkpoints import CheckpointStore


def _arrays(value: float) -> dict[str, np.ndarray]:
    return {"model/00000": np.full((3, 2), value, dtype=np.float32),
            "optimizer/00000": np.array(int(value), dtype=np.int64)}


def test_roundtrip_and_retention_keeps_last_k_plus_best(tmp_path):
    store = CheckpointStore(tmp_path, keep_last=2, monitor="val_loss", asynchronous=True)
    losses = {10: 0.9, 20: 0.2, 30: 0.5, 40: 0.6, 50: 0.7}
    for step, loss in losses.items():
        store.save(step, {"epoch": 0, "step_in_epoch": step, "metrics": {"val_loss": loss}},
                   _arrays(step))
    store.close()
    assert store.steps() == [50, 40, 20]  # last two, and the best (val_loss 0.2)
    latest = store.latest()
    assert latest.step == 50 and latest.state["step_in_epoch"] == 50
    np.testing.assert_array_equal(latest.arrays["model/00000"], _arrays(50)["model/00000"])
    assert store.best().step == 20


def test_corrupted_newest_falls_back_to_previous(tmp_path):
    store = CheckpointStore(tmp_path, keep_last=3, asynchronous=False)
    for step in (1, 2, 3):
        store.save(step, {"epoch": 0, "step_in_epoch": step}, _arrays(step))
    newest = tmp_path / "ckpt-00000003.npz"
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte in the middle
    newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="fails its checksum"):
        store.load(3)
    assert store.latest().step == 2


def test_uncommitted_checkpoint_is_invisible(tmp_path):
    store = CheckpointStore(tmp_path, asynchronous=False)
    store.save(5, {"epoch": 0, "step_in_epoch": 5}, _arrays(5))
    (tmp_path / "ckpt-00000009.npz").write_bytes(b"half written")  # no .json commit marker
    assert store.steps() == [5]
    assert store.latest().step == 5


def test_disk_full_leaves_no_partial_checkpoint_and_says_so(tmp_path, monkeypatch):
    store = CheckpointStore(tmp_path, asynchronous=False)
    store.save(1, {"epoch": 0, "step_in_epoch": 1}, _arrays(1))
    real = checkpoints._atomic_write

    def full_disk(path, data):
        if path.suffix == ".json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(checkpoints, "_atomic_write", full_disk)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoints are intact"):
        store.save(2, {"epoch": 0, "step_in_epoch": 2}, _arrays(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-00000001.json", "ckpt-00000001.npz"]
    assert store.latest().step == 1


def test_async_write_error_surfaces_on_flush(tmp_path, monkeypatch):
    store = CheckpointStore(tmp_path, asynchronous=True)
    monkeypatch.setattr(checkpoints, "_atomic_write",
                        lambda path, data: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    store.save(1, {"epoch": 0, "step_in_epoch": 1}, _arrays(1))
    with pytest.raises(CheckpointError, match="I/O error"):
        store.flush()


def test_state_json_is_readable_metadata(tmp_path):
    store = CheckpointStore(tmp_path, asynchronous=False)
    store.save(7, {"epoch": 1, "step_in_epoch": 3, "config": {"epochs": 2}}, _arrays(7))
    meta = json.loads((tmp_path / "ckpt-00000007.json").read_text())
    assert meta["state"]["config"] == {"epochs": 2} and len(meta["sha256"]) == 64
