"""What the training worker checks around a fit: free disk (a pause condition) and
whether an error was the process running out of memory (said with its resource plan)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from training_lib.resources.plan import ModelPlan


def low_disk_check(path: Path, min_gb: float) -> Any:
    """A pause condition: free disk at the checkpoint folder under `min_gb`."""
    import psutil

    def check() -> str | None:
        free = psutil.disk_usage(str(path)).free / 1e9
        return (f"{free:.2f} GB free at {path}, under min_disk_space_gb {min_gb}"
                if free < min_gb else None)

    return check


OOM_MARKERS = ("RESOURCE_EXHAUSTED", "ResourceExhaustedError", "out of memory",
               "OOM when allocating", "Cannot allocate memory", "CUDA_ERROR_OUT_OF_MEMORY")


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or any(m in f"{type(error).__name__}: {error}"
                                                 for m in OOM_MARKERS)


def out_of_memory_message(model: str, plan: ModelPlan, error: BaseException) -> str:
    cap = (f"GPU memory cap {plan.gpu_memory_mb} MB" if plan.gpu_memory_mb
           else f"planned host memory {plan.memory_mb} MB")
    first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
    return (f"{model}: out of memory under its resource plan (device {plan.device}, {cap}, "
            f"batch size {plan.batch_size}, {plan.cpu_threads} threads"
            + (f"; {plan.note}" if plan.note else "") + f"): {first}. Lower the model's "
            "batch_size (models.<name>.batch_size in the preset) or give it a device with more "
            "memory; the plan is in the run folder's plan.json")
