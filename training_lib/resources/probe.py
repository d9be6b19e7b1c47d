"""What the machine really has: CPUs and memory (psutil), GPUs (NVML via pynvml).

`probe_machine(nvml=...)` takes the NVML module as an argument so tests can pass a
fake answering for 0, 1 or 4 GPUs; by default the real `pynvml` is used and a
machine without the NVIDIA driver simply has no GPUs.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from training_lib import settings

log = logging.getLogger(__name__)
MB = 1024 * 1024


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    uuid: str
    memory_total_mb: int
    memory_free_mb: int
    utilization_pct: int
    ecc_errors: int = 0  # uncorrected volatile ECC errors; >0 marks the GPU unhealthy


@dataclass(frozen=True)
class MachineProbe:
    hostname: str
    cpu_logical: int
    cpu_physical: int
    cpu_allowed: int  # CPUs this process may run on (cgroups/affinity)
    memory_total_mb: int
    memory_available_mb: int
    disk_free_mb: int
    gpus: tuple[GpuInfo, ...] = field(default_factory=tuple)
    nvml_error: str | None = None
    mps: bool = False  # the CUDA MPS control daemon can be started here

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def probe_machine(nvml: Any = None, disk_path: Path | str = ".") -> MachineProbe:
    vm = psutil.virtual_memory()
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        allowed = psutil.cpu_count() or 1
    gpus, error = probe_gpus(nvml)
    return MachineProbe(
        hostname=settings.host_name(),
        cpu_logical=psutil.cpu_count() or 1,
        cpu_physical=psutil.cpu_count(logical=False) or 1,
        cpu_allowed=allowed,
        memory_total_mb=vm.total // MB,
        memory_available_mb=vm.available // MB,
        disk_free_mb=psutil.disk_usage(str(disk_path)).free // MB,
        gpus=tuple(gpus),
        nvml_error=error,
        mps=bool(gpus) and shutil.which("nvidia-cuda-mps-control") is not None,
    )


def probe_gpus(nvml: Any = None) -> tuple[list[GpuInfo], str | None]:
    """GPUs seen by NVML, or ([], why) when there is no driver or no GPU."""
    if nvml is None:
        try:
            import pynvml as nvml  # package nvidia-ml-py
        except ImportError as e:
            return [], f"pynvml not installed: {e}"
    try:
        nvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return [], f"NVML unavailable: {e}"
    try:
        gpus = []
        for i in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(GpuInfo(
                index=i,
                name=_text(nvml.nvmlDeviceGetName(handle)),
                uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                memory_total_mb=int(mem.total) // MB,
                memory_free_mb=int(mem.free) // MB,
                utilization_pct=int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                ecc_errors=_ecc_errors(nvml, handle),
            ))
        return gpus, None
    except Exception as e:
        log.warning("NVML query failed: %s", e)
        return [], f"NVML query failed: {e}"
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # shutting down a half-initialised NVML is best effort
            log.debug("nvmlShutdown failed", exc_info=True)


def _ecc_errors(nvml: Any, handle: Any) -> int:
    try:
        return int(nvml.nvmlDeviceGetTotalEccErrors(handle, nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                                                    nvml.NVML_VOLATILE_ECC))
    except Exception:  # ECC not supported on this GPU
        return 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
