"""Plan each model's share of the machine: device, memory cap, threads, batch size.

The plan is computed once per DAG run from a `MachineProbe` and written to the run
folder; each training process applies its entry before importing the framework.

Rules:
- GPUs (when the preset allows them and NVML sees healthy ones) are packed
  `gpu_packing` models per GPU, round robin, each capped at its share of the free
  memory; with `distributed_training` a model gets every GPU (MirroredStrategy).
- CPU threads: the allowed CPUs are split over the models that can run at once
  (the slots of the pool they train in: CPUs, or GPUs x packing), at least one each.
- The batch size is halved until the model's estimated footprint fits its cap.
- Models sharing a GPU run under CUDA MPS when the machine has it, so their kernels
  overlap instead of being time-sliced (see mps.py).
- Airflow pool sizes follow: GPU slots = GPUs x packing, CPU slots = allowed CPUs;
  TLIB_MAX_TRAINING_SLOTS caps both.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training_lib.resources.probe import MachineProbe

CPU_POOL = "tlib_cpu"
GPU_POOL = "tlib_gpu"


@dataclass(frozen=True)
class ModelNeed:
    model: str
    footprint_mb: int  # at batch 32
    batch_size: int
    urgency: int = 5


@dataclass(frozen=True)
class ModelPlan:
    model: str
    device: str  # "cpu" | "gpu:0" | "gpu:0,1"
    gpu_indices: tuple[int, ...]
    gpu_memory_mb: int | None  # cap on the GPU, None on CPU
    cpu_threads: int
    batch_size: int
    memory_mb: int  # expected footprint at the planned batch size
    pool: str
    mixed_precision: bool
    distributed: bool
    note: str = ""
    mps: bool = False  # packed with other models on its GPU under CUDA MPS
    gpu_sharing: int = 1  # trainings that may share its GPU(s) at once (1: it has them alone)


@dataclass(frozen=True)
class ResourcePlan:
    hostname: str
    pools: dict[str, int]
    models: dict[str, ModelPlan]
    probe: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "pools": self.pools, "probe": self.probe,
                "models": {k: asdict(v) for k, v in self.models.items()}}

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> "ResourcePlan":
        data = json.loads(path.read_text())
        models = {k: ModelPlan(**{**v, "gpu_indices": tuple(v["gpu_indices"])})
                  for k, v in data["models"].items()}
        return cls(data["hostname"], data["pools"], models, data["probe"])


def plan_resources(probe: MachineProbe, needs: list[ModelNeed], *, use_gpu: bool = True,
                   distributed: bool = False, mixed_precision: bool = False,
                   gpu_packing: int = 4, exclude_gpus: frozenset[int] = frozenset(),
                   min_gpu_free_mb: int = 512) -> ResourcePlan:
    gpus = [g for g in probe.gpus if g.index not in exclude_gpus and g.ecc_errors == 0
            and g.memory_free_mb >= min_gpu_free_mb] if use_gpu else []
    cpu_slots = max(1, probe.cpu_allowed)
    pools = {CPU_POOL: cpu_slots, GPU_POOL: len(gpus) * gpu_packing if gpus else cpu_slots}
    cap = os.environ.get("TLIB_MAX_TRAINING_SLOTS")
    if cap:  # an operator's limit on concurrent trainings on this machine
        pools = {name: max(1, min(slots, int(cap))) for name, slots in pools.items()}
        cpu_slots = min(cpu_slots, pools[CPU_POOL])
    # CPUs are split over the trainings that can run at once, not over every model planned:
    # 11 models queued for a GPU pool of 4 run 4 at a time, so each of those 4 gets a
    # quarter of the CPUs (splitting over all 11 left them one thread each of 16)
    running = pools[GPU_POOL] if gpus else cpu_slots
    concurrent = max(1, min(len(needs), running))
    threads = max(1, probe.cpu_allowed // concurrent)
    models: dict[str, ModelPlan] = {}
    per_gpu: dict[int, int] = {}
    for i, need in enumerate(needs):
        if gpus and not (distributed and len(gpus) > 1):
            index = gpus[i % len(gpus)].index
            per_gpu[index] = per_gpu.get(index, 0) + 1
    for i, need in enumerate(needs):
        if gpus and distributed and len(gpus) > 1:
            chosen = gpus
            sharing = min(len(needs), gpu_packing)
            cap = min(g.memory_free_mb for g in gpus) // sharing
        elif gpus:
            chosen = [gpus[i % len(gpus)]]
            sharing = min(gpu_packing, max(1, -(-len(needs) // len(gpus))))
            cap = chosen[0].memory_free_mb * 9 // 10 // sharing
        else:
            chosen, cap, sharing = [], None, 1
        budget = cap if cap is not None else probe.memory_available_mb // concurrent
        batch, footprint, note = _fit_batch(need, budget)
        models[need.model] = ModelPlan(
            model=need.model,
            device="gpu:" + ",".join(str(g.index) for g in chosen) if chosen else "cpu",
            gpu_indices=tuple(g.index for g in chosen),
            gpu_memory_mb=cap,
            cpu_threads=threads,
            batch_size=batch,
            memory_mb=footprint,
            pool=GPU_POOL if chosen else CPU_POOL,
            mixed_precision=bool(mixed_precision and chosen),
            distributed=len(chosen) > 1,
            note=note,
            mps=bool(probe.mps and len(chosen) == 1 and per_gpu.get(chosen[0].index, 0) > 1),
            gpu_sharing=sharing,
        )
    return ResourcePlan(probe.hostname, pools, models, probe.to_json())


def footprint_at(need: ModelNeed, batch_size: int) -> int:
    """Footprint grows with the batch: half fixed (weights, runtime), half per-sample."""
    return int(need.footprint_mb * (0.5 + 0.5 * batch_size / 32))


def _fit_batch(need: ModelNeed, budget_mb: int) -> tuple[int, int, str]:
    batch = need.batch_size
    while batch > 1 and footprint_at(need, batch) > budget_mb:
        batch //= 2
    note = "" if batch == need.batch_size else (
        f"batch size {need.batch_size} -> {batch} to fit {budget_mb} MB")
    return batch, footprint_at(need, batch), note
