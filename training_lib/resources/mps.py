"""CUDA MPS (Multi-Process Service) for models packed onto one GPU.

Without MPS, processes sharing a GPU are time-sliced: only one context's kernels run
at a time, so small models leave most of the chip idle. With an MPS control daemon,
kernels of the packed processes run concurrently, and each client can be capped to a
share of the SMs (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE) next to its memory cap. The
daemon is a user-space process; it changes no setting of the card (compute mode stays
Default) and is stopped with `stop_daemon`.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
CONTROL = "nvidia-cuda-mps-control"


def available() -> bool:
    return shutil.which(CONTROL) is not None


def client_environment(pipe_dir: Path, sm_percent: int | None = None) -> dict[str, str]:
    env = {"CUDA_MPS_PIPE_DIRECTORY": str(pipe_dir),
           "CUDA_MPS_LOG_DIRECTORY": str(pipe_dir / "log")}
    if sm_percent:
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(max(1, min(100, sm_percent)))
    return env


def running(pipe_dir: Path) -> bool:
    return (pipe_dir / "control").exists()


def ensure_daemon(pipe_dir: Path, gpus: str) -> bool:
    """Start an MPS control daemon for `gpus` ("0" or "0,1") unless one runs there."""
    if not available():
        return False
    if running(pipe_dir):
        return True
    (pipe_dir / "log").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **client_environment(pipe_dir), "CUDA_VISIBLE_DEVICES": gpus}
    done = subprocess.run([CONTROL, "-d"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        log.warning("MPS daemon did not start: %s", done.stderr.strip())
        return False
    log.info("MPS control daemon started for GPU %s (pipe %s)", gpus, pipe_dir)
    return True


def stop_daemon(pipe_dir: Path) -> None:
    if not available() or not running(pipe_dir):
        return
    env = {**os.environ, **client_environment(pipe_dir)}
    subprocess.run([CONTROL], input="quit\n", env=env, capture_output=True, text=True, timeout=30)
