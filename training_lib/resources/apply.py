"""Apply a `ModelPlan` inside the training process, before the framework starts.

`environment_for(plan)` gives the variables to set for the child process (device
visibility, thread counts, JAX memory fraction, JAX's persistent compilation cache);
`configure_framework(plan)` runs
in the child right after importing keras, for what only TensorFlow's API can set
(thread pools, per-GPU memory limit, mixed precision).
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Iterator

from training_lib.resources.plan import ModelPlan

log = logging.getLogger(__name__)
# XLA (JAX, and TensorFlow's jit_compile) times candidate kernels on the GPU while it
# compiles. Turning that off for models sharing a GPU made the eleven built-in models'
# short trainings finish sooner (bench/family_gpu.py on an H200: 27 s packed instead of
# 48-61 s), but the untuned convolutions then ran 34x slower for as long as a model trained
# (bench/gpu_pack.py, 8 CNNs on one H200: 0.19x one model's rate instead of 6.44x). So
# autotuning stays on, and XLA's results are kept in a persistent compilation cache
# (JAX_COMPILATION_CACHE_DIR, `var/jax_cache`), so a retry, a resume or the next night's
# training of the same model compiles and tunes nothing again. An operator who runs many
# short trainings can still set XLA_FLAGS=--xla_gpu_autotune_level=0 themselves.


def compilation_cache_dir() -> Path:
    from training_lib import settings

    return Path(os.environ.get("JAX_COMPILATION_CACHE_DIR", settings.var_dir() / "jax_cache"))


def environment_for(plan: ModelPlan, total_gpu_mb: int | None = None) -> dict[str, str]:
    threads = str(plan.cpu_threads)
    env = {
        "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in plan.gpu_indices),  # "" hides all GPUs
        "OMP_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1" if plan.cpu_threads <= 2 else "2",
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    if plan.gpu_indices:
        env["JAX_COMPILATION_CACHE_DIR"] = str(compilation_cache_dir())
    if plan.gpu_memory_mb and total_gpu_mb:
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{min(0.95, plan.gpu_memory_mb / total_gpu_mb):.3f}"
    if plan.mps:
        from training_lib.resources import mps

        env.update(mps.client_environment(mps_pipe_dir(plan)))
    return env


def mps_pipe_dir(plan: ModelPlan) -> Path:
    from training_lib import settings

    return Path(os.environ.get("TLIB_MPS_DIR", settings.var_dir() / "mps")) / (
        "gpu" + "_".join(str(i) for i in plan.gpu_indices))


def configure_framework(plan: ModelPlan) -> None:
    """Must run before the first op; a second call in the same process is ignored."""
    import keras

    if plan.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16"
                                                if keras.backend.backend() == "tensorflow"
                                                else "mixed_bfloat16")
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(plan.cpu_threads)
        tf.config.threading.set_inter_op_parallelism_threads(1 if plan.cpu_threads <= 2 else 2)
        for gpu in tf.config.list_physical_devices("GPU"):
            if plan.gpu_memory_mb:
                tf.config.set_logical_device_configuration(
                    gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=plan.gpu_memory_mb)])
            else:
                tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError as e:  # already initialised (e.g. several models in one test process)
        log.debug("TensorFlow already initialised, plan not re-applied: %s", e)


@contextlib.contextmanager
def distribution_scope(plan: ModelPlan) -> Iterator[None]:
    """Build the model inside this scope: with a multi-GPU plan, one model trains across
    its GPUs (TensorFlow: MirroredStrategy; JAX: keras.distribution.DataParallel)."""
    import keras

    if not plan.distributed:
        yield
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        log.info("MirroredStrategy over %d replicas", strategy.num_replicas_in_sync)
        with strategy.scope():
            yield
    elif backend == "jax":
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        log.info("keras DataParallel over %s", keras.distribution.list_devices())
        yield
    else:
        log.warning("distributed training is not supported on backend %s; one device", backend)
        yield
