"""The system sampler writes real samples of this process (CPU, RSS, memory of its cap, disk
I/O) and, through NVML, of the plan's GPUs (a fake NVML here; the real one on GPU hosts)."""
from __future__ import annotations

import time

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
