"""What the machine did while a model trained, sampled by a background thread into
models/<model>/round_<k>/system.jsonl (the record the system plots are drawn from).

One line per sample:

    {"time", "step", "try", "cpu_percent" (this process, 100 = one core), "cpu_host_percent",
     "rss_mb", "memory_used_mb", "memory_cap_mb", "memory_fraction" (of the cgroup limit, or
     of RAM when there is none), "read_mb_s", "write_mb_s" (this process), "host_read_mb_s",
     "host_write_mb_s", "gpus": [{"index", "util", "mem_used_mb", "mem_total_mb", "temp_c"}]}

GPUs come from NVML (`pynvml`, package nvidia-ml-py) when it finds a driver; the NVML
module can be passed in, as in `resources.probe`, so tests use a fake.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import psutil

log = logging.getLogger(__name__)
MB = 1024 * 1024
CGROUP = Path("/sys/fs/cgroup")


def memory_usage(cgroup: Path = CGROUP) -> tuple[float, float]:
    """(used MB, cap MB): the cgroup v2 limit and working set when one is set, else RAM."""
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            current = int((cgroup / "memory.current").read_text())
            stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
            working = current - int(stat.get("inactive_file", 0))
            return working / MB, int(limit) / MB
    except (OSError, ValueError):
        pass  # no cgroup v2 memory controller here: fall back to the whole machine
    vm = psutil.virtual_memory()
    return (vm.total - vm.available) / MB, vm.total / MB


class SystemSampler:
    """Samples every `interval` seconds on a daemon thread until `stop()`.

        sampler = SystemSampler(out / "system.jsonl", gpu_indices=(0,), step=lambda: fit_step)
        sampler.start(); ...; sampler.stop()
    """

    def __init__(self, path: Path, *, interval: float = 2.0, gpu_indices: tuple[int, ...] = (),
                 step: Callable[[], int] | None = None, try_number: int = 1,
                 nvml: Any = None) -> None:
        self.path = path
        self.interval = interval
        self.gpu_indices = gpu_indices
        self.step = step or (lambda: 0)
        self.try_number = try_number
        self._nvml = nvml
        self._handles: dict[int, Any] = {}
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._last: tuple[float, Any, Any] | None = None
        self.samples = 0
        self.nvml_error: str | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "SystemSampler":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_nvml()
        self._process.cpu_percent(None)  # the first call only sets the reference point
        psutil.cpu_percent(None)
        self._last = (time.monotonic(), self._proc_io(), self._host_io())
        self._thread = threading.Thread(target=self._loop, name="system-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sample_once()  # the state at the end
        if self._nvml is not None and self._handles:
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # best effort, as in resources.probe
                log.debug("nvmlShutdown failed", exc_info=True)

    def drain(self) -> list[dict[str, Any]]:
        """Samples taken since the last call (for the anomaly detectors)."""
        with self._lock:
            out, self._pending = self._pending, []
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample_once()
            except Exception as e:  # sampling must never stop training
                log.warning("system sample failed: %s", e)

    # ---- one sample --------------------------------------------------------------------------
    def sample_once(self) -> dict[str, Any]:
        now = time.monotonic()
        proc_io, host_io = self._proc_io(), self._host_io()
        elapsed = max(now - self._last[0], 1e-6) if self._last else None
        used, cap = memory_usage()
        sample: dict[str, Any] = {
            "time": time.time(), "step": int(self.step()), "try": self.try_number,
            "cpu_percent": self._process.cpu_percent(None),
            "cpu_host_percent": psutil.cpu_percent(None),
            "rss_mb": self._process.memory_info().rss / MB,
            "memory_used_mb": used, "memory_cap_mb": cap, "memory_fraction": used / cap,
        }
        if elapsed and self._last:
            for key, new, old in (("", proc_io, self._last[1]), ("host_", host_io, self._last[2])):
                if new is not None and old is not None:
                    sample[f"{key}read_mb_s"] = (new.read_bytes - old.read_bytes) / MB / elapsed
                    sample[f"{key}write_mb_s"] = (new.write_bytes - old.write_bytes) / MB / elapsed
        self._last = (now, proc_io, host_io)
        sample["gpus"] = self._gpus()
        line = json.dumps(sample) + "\n"
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
            self._pending.append(sample)
            self.samples += 1
        return sample

    def _proc_io(self) -> Any:
        try:
            return self._process.io_counters()
        except (psutil.Error, AttributeError, OSError):
            return None

    @staticmethod
    def _host_io() -> Any:
        try:
            return psutil.disk_io_counters()
        except (OSError, RuntimeError):
            return None

    def _open_nvml(self) -> None:
        if not self.gpu_indices:
            return
        if self._nvml is None:
            try:
                import pynvml  # package nvidia-ml-py

                self._nvml = pynvml
            except ImportError as e:
                self.nvml_error = f"pynvml not installed: {e}"
                return
        try:
            self._nvml.nvmlInit()
            self._handles = {i: self._nvml.nvmlDeviceGetHandleByIndex(i) for i in self.gpu_indices}
        except Exception as e:  # no driver: the samples simply have no GPUs
            self.nvml_error = f"NVML unavailable: {e}"
            self._handles = {}

    def _gpus(self) -> list[dict[str, Any]]:
        out = []
        for index, handle in self._handles.items():
            try:
                nvml = self._nvml
                mem = nvml.nvmlDeviceGetMemoryInfo(handle)
                gpu = {"index": index, "util": int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                       "mem_used_mb": int(mem.used) / MB, "mem_total_mb": int(mem.total) / MB}
                try:
                    gpu["temp_c"] = int(nvml.nvmlDeviceGetTemperature(
                        handle, getattr(nvml, "NVML_TEMPERATURE_GPU", 0)))
                except Exception:
                    gpu["temp_c"] = None
                out.append(gpu)
            except Exception as e:
                log.debug("NVML sample of GPU %d failed: %s", index, e)
        return out
