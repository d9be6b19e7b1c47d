"""Mirror a run's checkpoints to object storage (any fsspec URL: s3://, gs://, abfs://,
file://, memory://), so a retry on a worker that does not share the run folder's disk
still resumes from the newest checkpoint.

    TLIB_CHECKPOINT_URL=s3://bucket/training-checkpoints

Checkpoints of `<runs>/<dag>/<run>/models/<model>/round_<k>/checkpoints/` go to
`<url>/<dag>/<run>/models/<model>/round_<k>/checkpoints/`. An upload sends the arrays
first and the commit marker (.json) last, like the local write; a download does the
same, and every pulled checkpoint is verified by `CheckpointStore.load` before use, so a
half-uploaded or damaged remote checkpoint is skipped like a damaged local one.
Mirroring never stops training: a failed upload is logged and retried with the next
checkpoint (the local copy is intact).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
ENV = "TLIB_CHECKPOINT_URL"


class CheckpointMirror:
    """The remote copy of one checkpoint folder."""

    def __init__(self, url: str, fs: Any = None) -> None:
        import fsspec

        if fs is None:
            fs, _, paths = fsspec.get_fs_token_paths(url)
            url = paths[0]
        self.fs, self.root = fs, url.rstrip("/")
        self.failures = 0

    @classmethod
    def for_folder(cls, local: Path, runs_root: Path) -> "CheckpointMirror | None":
        """The mirror of `local` (a folder under `runs_root`) when TLIB_CHECKPOINT_URL is set."""
        base = os.environ.get(ENV, "").strip()
        if not base:
            return None
        local = Path(local).resolve()
        try:
            relative = local.relative_to(Path(runs_root).resolve()).as_posix()
        except ValueError:  # a run folder outside the runs root: dag/run/models/m/round/ckpts
            relative = "/".join(local.parts[-6:])
        return cls(f"{base.rstrip('/')}/{relative}")

    def _remote(self, name: str) -> str:
        return f"{self.root}/{name}"

    def remote_names(self) -> set[str]:
        try:
            return {Path(p).name for p in self.fs.ls(self.root, detail=False)}
        except FileNotFoundError:
            return set()

    def push(self, local: Path) -> None:
        """Make the remote folder hold the local committed checkpoints, and only them."""
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            present = self.remote_names()
            committed = sorted(p.name for p in local.glob("ckpt-*.json"))
            for marker in committed:
                stem = marker[:-len(".json")]
                if marker in present:
                    continue
                self.fs.put_file(str(local / f"{stem}.npz"), self._remote(f"{stem}.npz"))
                self.fs.put_file(str(local / marker), self._remote(marker))  # commit last
            keep = {n for m in committed for n in (m, m[:-len(".json")] + ".npz")}
            for name in sorted(present - keep, key=lambda n: not n.endswith(".json")):
                self.fs.rm_file(self._remote(name))  # pruned locally: uncommit, then arrays
        except Exception as e:  # noqa: BLE001 - any storage error: keep training
            self.failures += 1
            log.warning("could not mirror checkpoints to %s (the local copy is intact; "
                        "trying again at the next checkpoint): %s", self.root, e)

    def pull(self, local: Path) -> list[str]:
        """Download the remote checkpoints missing locally (arrays first, marker last);
        returns their names. A checkpoint that fails to download is left out whole."""
        local.mkdir(parents=True, exist_ok=True)
        got = []
        for marker in sorted(n for n in self.remote_names() if n.endswith(".json")):
            stem = marker[:-len(".json")]
            if (local / marker).exists():
                continue
            try:
                self.fs.get_file(self._remote(f"{stem}.npz"), str(local / f"{stem}.npz"))
                self.fs.get_file(self._remote(marker), str(local / marker))
                got.append(stem)
            except Exception as e:  # noqa: BLE001
                (local / marker).unlink(missing_ok=True)
                log.warning("could not fetch checkpoint %s from %s: %s", stem, self.root, e)
        if got:
            log.info("fetched %d checkpoint(s) from %s: %s", len(got), self.root, ", ".join(got))
        return got
