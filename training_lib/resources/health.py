"""Is this node fit to train? Memory pressure, free disk, GPU errors (NVML)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from training_lib.resources.probe import probe_gpus


@dataclass(frozen=True)
class Health:
    ok: bool
    problems: tuple[str, ...]
    bad_gpus: tuple[int, ...] = ()


def check_health(path: Path, *, min_disk_gb: float = 1.0, max_memory_percent: float = 97.0,
                 nvml=None) -> Health:
    problems = []
    memory = psutil.virtual_memory()
    if memory.percent > max_memory_percent:
        problems.append(f"memory pressure: {memory.percent:.0f}% used "
                        f"(limit {max_memory_percent:.0f}%)")
    free_gb = psutil.disk_usage(str(path)).free / 1e9
    if free_gb < min_disk_gb:
        problems.append(f"disk: {free_gb:.2f} GB free at {path} (needs {min_disk_gb} GB)")
    gpus, _ = probe_gpus(nvml)
    bad = tuple(g.index for g in gpus if g.ecc_errors > 0)
    if bad:
        problems.append(f"GPU {list(bad)} report uncorrected ECC errors")
    # bad GPUs alone leave the node usable: the plan excludes them
    node_problems = [p for p in problems if not p.startswith("GPU")]
    return Health(not node_problems, tuple(problems), bad)
