"""A stand-in for the pynvml module answering for a chosen set of GPUs."""
from __future__ import annotations

from types import SimpleNamespace

MB = 1024 * 1024


class NVMLError(Exception):
    pass


class FakeNvml:
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0

    def __init__(self, gpus: list[dict] | None = None, fail_init: bool = False) -> None:
        self.gpus = gpus or []
        self.fail_init = fail_init
        self.shutdown_called = False

    def nvmlInit(self):
        if self.fail_init:
            raise NVMLError("Driver Not Loaded")

    def nvmlShutdown(self):
        self.shutdown_called = True

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetMemoryInfo(self, h):
        g = self.gpus[h]
        return SimpleNamespace(total=g["total_mb"] * MB, free=g["free_mb"] * MB,
                               used=(g["total_mb"] - g["free_mb"]) * MB)

    def nvmlDeviceGetName(self, h):
        return self.gpus[h].get("name", "NVIDIA H100 80GB HBM3").encode()

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h:04d}"

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=self.gpus[h].get("util", 0), memory=0)

    def nvmlDeviceGetTotalEccErrors(self, h, kind, counter):
        return self.gpus[h].get("ecc", 0)


def h100s(n: int, free_mb: int = 80000) -> FakeNvml:
    return FakeNvml([{"total_mb": 81559, "free_mb": free_mb} for _ in range(n)])
