"""Fault records read well: the whole first line of the cause, the exit signal, and the last
output without TensorFlow/absl/CUDA start-up chatter (in the record and in the error)."""
from __future__ import annotations

from types import SimpleNamespace

from training_lib.pipeline.fault_log import error_fields
from training_lib.pipeline.launcher import WorkerExited, _pump
from training_lib.pipeline.noise import is_noise, without_noise

BANNER = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1732871234.123456   4711 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors",
    "E0000 00:00:1732871234.612345   4711 cuda_blas.cc:1407] Unable to register cuBLAS "
    "factory: Attempting to register factory for plugin cuBLAS when one has already been "
    "registered",
    "W0000 00:00:1732871235.1   4711 cpu_feature_guard.cc:210] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
]


def test_banners_are_noise_and_causes_are_not():
    assert all(is_noise(line) for line in BANNER)
    for line in ("F0000 00:00:1.5 47 cuda_dnn.cc:12] Check failed: status == CUDNN_OK",
                 "W0000 00:00:1.5 47 bfc_allocator.cc:482] Allocator ran out of memory",
                 "ValueError: shapes (32, 10) and (32, 3) are incompatible",
                 "PROGRESS vision_service step 340/500 epoch 3/5 loss 0.51"):
        assert not is_noise(line), line


def test_a_killed_worker_is_recorded_with_its_whole_first_line_signal_and_clean_output():
    # a long output made the old record (the message's last 2000 characters) start mid-word
    output = [f"PROGRESS vision_service step {s}/500 loss 0.5 " + "x" * 80
              for s in range(300, 340)]
    error = WorkerExited("vision_service", -9, [*BANNER, *output, *BANNER])
    assert len(str(error)) > 2000
    fields = error_fields(error)
    assert fields["error"] == "vision_service: training process killed by signal 9 (SIGKILL)"
    assert fields["signal"] == 9 and fields["exit_code"] is None
    assert fields["output"] == output[-12:]  # the last lines, no banner among them


def test_an_error_message_keeps_its_first_line_and_drops_noise_from_the_rest():
    error = RuntimeError("math_model: out of memory while allocating 2.0 GiB\n"
                         + "\n".join(BANNER) + "\nTraceback: the real detail")
    fields = error_fields(error)
    assert fields["error"] == "math_model: out of memory while allocating 2.0 GiB"
    assert fields["output"] == ["Traceback: the real detail"] and "signal" not in fields


def test_the_task_log_gets_every_line_once_and_the_error_summary_none_of_the_noise():
    import collections

    logged: list[str] = []
    tail: collections.deque = collections.deque(maxlen=40)
    # TensorFlow prints its banner again at a later import, with a later time stamp
    again = [line.replace("00:00:173287123", "00:00:173287999") for line in BANNER]
    assert again != BANNER
    lines = [*BANNER, "epoch 1 done", *again, "Killed"]
    _pump(SimpleNamespace(stdout=iter(line + "\n" for line in lines)), tail, logged.append)
    assert logged == [*BANNER, "epoch 1 done", "Killed"]  # each banner line once
    assert list(tail) == ["epoch 1 done", "Killed"] == without_noise(lines)


def test_the_task_log_has_no_terminal_escapes():
    import collections

    logged: list[str] = []
    keras_bar = ("\x1b[1m10/10\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m "
                 "\x1b[1m0s\x1b[0m 3ms/step - loss: 0.5123\b\b")
    _pump(SimpleNamespace(stdout=iter([keras_bar + "\n", "ValueError: bad\n"])),
          collections.deque(maxlen=40), logged.append)
    assert logged == ["10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 0.5123", "ValueError: bad"]
    assert not any("\x1b" in line or "\b" in line for line in logged)
