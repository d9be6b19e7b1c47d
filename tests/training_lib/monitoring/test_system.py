"""The system sampler writes real samples of this process (CPU, RSS, memory of its cap, disk
I/O) and, through NVML, of the plan's GPUs (a fake NVML here; the real one on GPU hosts)."""
from __future__ import annotations

import time

import psutil
import pytest

from tests.fixtures.fake_nvml import FakeNvml
from training_lib.monitoring.system import SystemSampler, memory_usage
from training_lib.runs.files import read_jsonl


class NvmlWithSensors(FakeNvml):
    NVML_TEMPERATURE_GPU = 0

    def nvmlDeviceGetTemperature(self, h, sensor):
        return self.gpus[h]["temp"]


def test_samples_of_this_process_and_its_gpus(tmp_path):
    nvml = NvmlWithSensors([{"total_mb": 81559, "free_mb": 60000, "util": 87, "temp": 54},
                            {"total_mb": 81559, "free_mb": 81000, "util": 0, "temp": 31}])
    sampler = SystemSampler(tmp_path / "system.jsonl", interval=0.05, gpu_indices=(1,),
                            step=lambda: 42, nvml=nvml).start()
    block = bytearray(64 * 1024 * 1024)  # some work and memory while it samples
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        sum(range(10000))
    sampler.stop()
    samples = read_jsonl(tmp_path / "system.jsonl")
    assert len(samples) >= 3 and sampler.samples == len(samples) and block
    last = samples[-1]
    assert last["step"] == 42 and last["rss_mb"] > 64
    assert 0 < last["memory_fraction"] < 1 and last["memory_cap_mb"] > last["memory_used_mb"]
    assert max(s["cpu_percent"] for s in samples) > 0
    assert {"read_mb_s", "write_mb_s"} <= set(last)
    assert last["gpus"] == [{"index": 1, "util": 0, "mem_used_mb": 559.0,
                             "mem_total_mb": 81559.0, "temp_c": 31}]
    assert nvml.shutdown_called
    assert len(sampler.drain()) == len(samples) and sampler.drain() == []


def test_no_driver_means_no_gpu_samples_not_an_error(tmp_path):
    sampler = SystemSampler(tmp_path / "s.jsonl", interval=10, gpu_indices=(0,),
                            nvml=FakeNvml(fail_init=True)).start()
    sampler.stop()
    assert "Driver Not Loaded" in sampler.nvml_error
    assert read_jsonl(tmp_path / "s.jsonl")[-1]["gpus"] == []


def test_memory_cap_from_cgroup_v2(tmp_path):
    (tmp_path / "memory.max").write_text("1073741824\n")
    (tmp_path / "memory.current").write_text(str(900 * 1024 * 1024))
    (tmp_path / "memory.stat").write_text("anon 1\ninactive_file 104857600\nactive_file 5\n")
    used, cap = memory_usage(tmp_path)
    assert (used, cap) == (800.0, 1024.0)
    (tmp_path / "memory.max").write_text("max\n")
    used, cap = memory_usage(tmp_path)
    assert cap > 0 and used < cap  # no limit: the whole machine


# ---- the samples against the machine, read independently with psutil ----------------------
def _host_busy(before, after) -> float:
    """% of all cores busy between two psutil.cpu_times() readings (idle and iowait are idle;
    guest time is already counted in user on Linux)."""
    def split(t):
        total = sum(t) - getattr(t, "guest", 0) - getattr(t, "guest_nice", 0)
        return total, t.idle + getattr(t, "iowait", 0)
    (total0, idle0), (total1, idle1) = split(before), split(after)
    return 100 * (1 - (idle1 - idle0) / max(total1 - total0, 1e-9))


def _measured(sampler: SystemSampler, action) -> tuple[dict, float, float]:
    """Run `action`, then take one sample; returns (sample, this process's CPU % and the
    host's CPU % over the same interval, from psutil's raw counters)."""
    me = psutil.Process()
    sampler.sample_once()  # the sampler's reference point
    cpu0, host0, t0 = me.cpu_times(), psutil.cpu_times(), time.monotonic()
    action()
    sample = sampler.sample_once()
    cpu1, host1, t1 = me.cpu_times(), psutil.cpu_times(), time.monotonic()
    used = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    return sample, 100 * used / (t1 - t0), _host_busy(host0, host1)


def test_cpu_and_memory_samples_follow_a_known_load(tmp_path):
    import subprocess
    import sys

    sampler = SystemSampler(tmp_path / "s.jsonl", interval=3600).start()  # samples on demand
    try:
        idle, idle_cpu, _ = _measured(sampler, lambda: time.sleep(0.6))
        assert idle["cpu_percent"] == pytest.approx(idle_cpu, abs=10) and idle_cpu < 20

        def spin() -> None:  # this process: one core for a second
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                pass
        busy, busy_cpu, _ = _measured(sampler, spin)
        # a shared machine may give the spinning thread less than a core: the sample must
        # match what psutil's counters say this process got, and be well above idle
        assert busy_cpu > idle_cpu + 15 and busy["cpu_percent"] == pytest.approx(busy_cpu,
                                                                                 abs=10)

        child = subprocess.Popen([sys.executable, "-c", "import time\nd = time.monotonic() + 1.2"
                                  "\nwhile time.monotonic() < d: pass"])
        loaded, _, host_cpu = _measured(sampler, lambda: child.wait(timeout=10))
        assert loaded["cpu_host_percent"] == pytest.approx(host_cpu, abs=10)
        assert loaded["cpu_host_percent"] >= 0.6 * 100 / psutil.cpu_count()  # ~1 core busy
        assert loaded["cpu_percent"] < 20  # the child's work is not this process's

        before = sampler.sample_once()["rss_mb"]
        block = bytearray(200 * 1024 * 1024)
        block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page
        grown = sampler.sample_once()
        rss = psutil.Process().memory_info().rss / 1024 / 1024
        assert grown["rss_mb"] == pytest.approx(rss, abs=5)
        assert grown["rss_mb"] - before >= 190
        used_mb = (psutil.virtual_memory().total - psutil.virtual_memory().available) / 2 ** 20
        if grown["memory_cap_mb"] == pytest.approx(psutil.virtual_memory().total / 2 ** 20):
            assert grown["memory_used_mb"] == pytest.approx(used_mb, abs=100)  # no cgroup cap
        del block
    finally:
        sampler.stop()
    samples = read_jsonl(tmp_path / "s.jsonl")
    assert all(s["gpus"] == [] for s in samples)  # no GPU asked for: no GPU fields at all


def test_no_nvml_library_writes_no_gpu_numbers(tmp_path):
    """On a machine without NVIDIA's driver the real pynvml fails to load: the samples carry
    no GPU entries, rather than GPUs at 0% (which would read as idle GPUs)."""
    sampler = SystemSampler(tmp_path / "s.jsonl", interval=3600, gpu_indices=(0, 1))
    sampler.start()
    sampler.stop()
    if not sampler.nvml_error:
        pytest.skip("this machine has an NVIDIA driver")
    [sample] = read_jsonl(tmp_path / "s.jsonl")
    assert sample["gpus"] == []
