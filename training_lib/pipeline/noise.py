"""Start-up chatter of TensorFlow, XLA, absl and CUDA libraries in a worker's output.

Every worker prints lines such as

    I0000 00:00:1732871234.123456   4711 port.cc:153] oneDNN custom operations are on ...
    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    E0000 00:00:1732871234.5   4711 cuda_blas.cc:1407] Unable to register cuBLAS factory ...

They say nothing about why a training failed, yet they fill the last lines of its output.
The task log keeps them (it is the raw record); the fault record and the error that ends
the task (the "last output" summary) leave them out.

    >>> is_noise("I0000 00:00:1732871234.123456 4711 port.cc:153] oneDNN custom operations")
    True
    >>> is_noise("ValueError: shapes (32, 10) and (32, 3) are incompatible")
    False
"""
from __future__ import annotations

import re
from typing import Iterable

# glog/absl prefix: severity, MMDD, time (or seconds since epoch), thread id, file:line].
# Info and warning lines are chatter (but for the allocator's out-of-memory warnings);
# errors only from the CUDA plugin registrations (a CPU machine prints them at every
# start); fatal lines (F...) are kept: they say why a process aborted.
_GLOG = re.compile(r"^(?P<severity>[IWEF])\d{4} [\d:.]+\s+\d+\s+(?P<file>[\w./+-]+):\d+\]")
_PHRASES = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "rebuild TensorFlow with the appropriate compiler flags",
    "TF-TRT Warning: Could not find TensorRT",
    "Unable to register cuDNN factory", "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "Could not find cuda drivers on your machine",
    "Attempting to register factory for plugin",
)


def is_noise(line: str) -> bool:
    """Whether `line` is library start-up chatter (see the module docstring)."""
    text = line.strip()
    if not text:
        return False
    glog = _GLOG.match(text)
    if glog and (glog["severity"] == "I"
                 or (glog["severity"] == "W" and "memory" not in text.lower())
                 or (glog["severity"] == "E" and glog["file"].rsplit("/", 1)[-1].startswith(
                     ("cuda_", "cuda_dnn", "cuda_fft", "cuda_blas")))):
        return True
    return not (glog and glog["severity"] == "F") and any(p in text for p in _PHRASES)


def without_noise(lines: Iterable[str]) -> list[str]:
    """The lines that are not noise (blank lines dropped too)."""
    return [line for line in lines if line.strip() and not is_noise(line)]
