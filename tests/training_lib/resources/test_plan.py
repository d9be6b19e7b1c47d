"""Resource planning from real psutil numbers and faked NVML answers (0, 1 and 4 GPUs)."""
from __future__ import annotations

import dataclasses

import psutil
import pytest

from tests.fixtures.fake_nvml import FakeNvml, h100s
from training_lib.resources.apply import environment_for
from training_lib.resources.plan import CPU_POOL, GPU_POOL, ModelNeed, ResourcePlan, plan_resources
from training_lib.resources.probe import probe_machine

NEEDS = [ModelNeed("vision_service", 384, 64), ModelNeed("math_model", 256, 64),
         ModelNeed("logic_model", 128, 64)]


def test_probe_reads_the_real_machine_without_gpus():
    probe = probe_machine(FakeNvml(fail_init=True))
    assert probe.cpu_logical == psutil.cpu_count()
    assert probe.memory_total_mb == psutil.virtual_memory().total // (1024 * 1024)
    assert probe.gpus == () and "Driver Not Loaded" in probe.nvml_error


def test_zero_gpus_plans_cpu_threads_and_cpu_pool():
    probe = probe_machine(FakeNvml([]))
    plan = plan_resources(probe, NEEDS)
    assert {p.device for p in plan.models.values()} == {"cpu"}
    assert plan.pools[CPU_POOL] == probe.cpu_allowed
    concurrent = min(len(NEEDS), probe.cpu_allowed)
    assert all(p.cpu_threads == max(1, probe.cpu_allowed // concurrent)
               for p in plan.models.values())
    env = environment_for(plan.models["math_model"])
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["OMP_NUM_THREADS"] == str(
        plan.models["math_model"].cpu_threads)


def test_one_gpu_packs_models_with_memory_caps():
    plan = plan_resources(probe_machine(h100s(1)), NEEDS, gpu_packing=4)
    assert {p.device for p in plan.models.values()} == {"gpu:0"}
    assert plan.pools[GPU_POOL] == 4
    caps = {p.gpu_memory_mb for p in plan.models.values()}
    assert caps == {80000 * 9 // 10 // 3}  # three models share 90% of the free memory
    env = environment_for(plan.models["vision_service"], total_gpu_mb=81559)
    assert env["CUDA_VISIBLE_DEVICES"] == "0"
    assert 0 < float(env["XLA_PYTHON_CLIENT_MEM_FRACTION"]) < 0.34


def test_four_gpus_round_robin_and_distributed():
    probe = probe_machine(h100s(4))
    plan = plan_resources(probe, NEEDS, gpu_packing=2)
    assert [plan.models[n.model].device for n in NEEDS] == ["gpu:0", "gpu:1", "gpu:2"]
    assert plan.pools[GPU_POOL] == 8
    dist = plan_resources(probe, NEEDS[:1], distributed=True)
    assert dist.models["vision_service"].device == "gpu:0,1,2,3"
    assert dist.models["vision_service"].distributed


def test_failed_or_excluded_gpus_are_not_used():
    nvml = FakeNvml([{"total_mb": 81559, "free_mb": 80000, "ecc": 3},
                     {"total_mb": 81559, "free_mb": 80000},
                     {"total_mb": 81559, "free_mb": 80000}])
    plan = plan_resources(probe_machine(nvml), NEEDS, exclude_gpus=frozenset({1}))
    assert {p.device for p in plan.models.values()} == {"gpu:2"}


def test_batch_size_shrinks_to_fit_the_cap():
    nvml = FakeNvml([{"total_mb": 2000, "free_mb": 700}])
    plan = plan_resources(probe_machine(nvml), [ModelNeed("big", 1200, 256)], gpu_packing=1)
    entry = plan.models["big"]
    assert entry.batch_size < 256 and entry.memory_mb <= entry.gpu_memory_mb
    assert "batch size 256 ->" in entry.note


def test_use_gpu_false_ignores_gpus_and_mixed_precision_needs_gpu():
    plan = plan_resources(probe_machine(h100s(1)), NEEDS, use_gpu=False, mixed_precision=True)
    assert all(p.device == "cpu" and not p.mixed_precision for p in plan.models.values())
    gpu = plan_resources(probe_machine(h100s(1)), NEEDS, mixed_precision=True)
    assert all(p.mixed_precision for p in gpu.models.values())


def test_plan_roundtrips_through_json(tmp_path):
    plan = plan_resources(probe_machine(h100s(4)), NEEDS)
    loaded = ResourcePlan.load(plan.save(tmp_path / "plan.json"))
    assert loaded.models == plan.models and loaded.pools == plan.pools


@pytest.mark.parametrize("n", [0, 1, 4])
def test_nvml_is_shut_down(n):
    nvml = h100s(n)
    assert len(probe_machine(nvml).gpus) == n
    assert nvml.shutdown_called


def test_models_packed_on_a_gpu_use_mps_when_available():
    probe = probe_machine(h100s(1))
    packed = plan_resources(dataclasses.replace(probe, mps=True), NEEDS)
    assert all(p.mps for p in packed.models.values())
    env = environment_for(packed.models["logic_model"])
    assert env["CUDA_MPS_PIPE_DIRECTORY"].endswith("gpu0")
    alone = plan_resources(dataclasses.replace(probe, mps=True), NEEDS[:1])
    assert not alone.models["vision_service"].mps  # nothing to share the GPU with
    no_mps = plan_resources(dataclasses.replace(probe, mps=False), NEEDS)
    assert not any(p.mps for p in no_mps.models.values())


def test_cpu_threads_are_split_over_the_trainings_that_run_at_once():
    """11 models on one GPU of a 16-CPU machine: a pool of 4 runs 4 at a time, so each
    gets 4 threads; packing all 11 leaves one each; without a GPU, the CPU pool's 16 slots
    run all 11 at once."""
    probe = dataclasses.replace(probe_machine(h100s(1)), cpu_allowed=16)
    needs = [ModelNeed(f"m{i}", 64, 32) for i in range(11)]
    pool_of_4 = plan_resources(probe, needs, gpu_packing=4)
    assert pool_of_4.pools[GPU_POOL] == 4
    assert {p.cpu_threads for p in pool_of_4.models.values()} == {4}
    all_11 = plan_resources(probe, needs, gpu_packing=11)
    assert {p.cpu_threads for p in all_11.models.values()} == {1}
    cpu_only = plan_resources(probe, needs, use_gpu=False)
    assert {p.cpu_threads for p in cpu_only.models.values()} == {1}
    env = environment_for(pool_of_4.models["m0"], total_gpu_mb=81559)
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "4"


def test_gpu_trainings_keep_xla_autotuning_and_share_a_compilation_cache(monkeypatch, tmp_path):
    # autotuning off made packed CNNs 34x slower (bench/gpu_pack.py): the plan never sets it
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("TLIB_VAR_DIR", str(tmp_path))
    probe = probe_machine(h100s(1))
    packed = plan_resources(probe, NEEDS, gpu_packing=4)
    assert {p.gpu_sharing for p in packed.models.values()} == {3}
    env = environment_for(packed.models["math_model"], total_gpu_mb=81559)
    assert "XLA_FLAGS" not in env
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "jax_cache")
    cpu = plan_resources(probe, NEEDS, use_gpu=False)
    assert "JAX_COMPILATION_CACHE_DIR" not in environment_for(cpu.models["math_model"])
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/shared/jax")  # an operator's wins
    assert environment_for(packed.models["math_model"], 81559)["JAX_COMPILATION_CACHE_DIR"] == (
        "/shared/jax")
