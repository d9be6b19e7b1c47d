"""Run `probe_file` over many files in worker processes, with a per-file time limit.

A worker handles chunks of files and returns each chunk's results in one message
(cheap on 50,000 files). It publishes which file it is on and since when in shared
memory; each file gets a SIGALRM-based soft limit inside the worker, and the parent
kills a worker whose file runs past the hard limit (a decoder stuck in C code, or a
crash), flags that one file `timeout`/`crashed`, and re-queues the rest of its chunk.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Sequence

from training_lib.data.scan import probe
from training_lib.data.quality.limits import QualityLimits

log = logging.getLogger(__name__)

# (what to open: the walk's FileRef, checked by identity after opening; path relative to the root)
Task = tuple[probe.Source, str]


class _Timeout(BaseException):
    """Raised by SIGALRM inside a worker; BaseException so decoders' `except Exception`
    handlers cannot swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def _probe_timed(task: Task, limits: QualityLimits) -> dict[str, Any]:
    result = probe.empty_result(task[1])
    signal.setitimer(signal.ITIMER_REAL, limits.time_limit_s)
    try:
        probe.probe_file(task[0], task[1], limits, result=result)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout:
        return probe.with_flag(result, "timeout")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return result


def _worker(conn: Connection, state: Any, slot: int, limits: QualityLimits) -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        results = []
        for k, task in enumerate(chunk):
            state[2 * slot + 1] = time.monotonic()
            state[2 * slot] = k
            try:
                results.append(_probe_timed(task, limits))
            except _Timeout:  # the alarm fired between two statements of the wrapper
                results.append(probe.with_flag(probe.empty_result(task[1]), "timeout"))
        state[2 * slot] = -1
        conn.send(results)


class _Slot:
    def __init__(self, ctx: Any, state: Any, index: int, limits: QualityLimits) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, state, index, limits), daemon=True,
                                name=f"tlib-scan-{index}")
        self.proc.start()
        child.close()
        self.chunk: list[Task] | None = None

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def run_probes(tasks: Sequence[Task], limits: QualityLimits, *, workers: int = 2,
               on_result: Callable[[dict[str, Any]], None],
               start_method: str | None = None) -> None:
    """Probe every task, calling `on_result` (in this process) once per task, in any order.

    workers=0 probes in this process: no time limit applies (SIGALRM belongs to the host
    process; Airflow uses it for task timeouts), which suits tests and tiny folders.
    """
    if workers <= 0 or len(tasks) == 0:
        for path, rel in tasks:
            on_result(probe.probe_file(path, rel, limits))
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context(start_method or ("fork" if "fork" in methods else "spawn"))
    workers = min(workers, len(tasks))
    size = max(1, min(64, len(tasks) // (workers * 8)))
    queue: deque[list[Task]] = deque(list(tasks[i:i + size]) for i in range(0, len(tasks), size))
    state = ctx.RawArray("d", 2 * workers)
    hard_limit = limits.time_limit_s * 1.5 + 2.0
    slots = [_Slot(ctx, state, i, limits) for i in range(workers)]
    try:
        while True:
            for i, slot in enumerate(slots):
                if slot.chunk is None and queue:
                    slot.chunk = queue.popleft()
                    state[2 * i] = -1
                    slot.conn.send(slot.chunk)
            busy = [s for s in slots if s.chunk is not None]
            if not busy:
                break
            ready = wait([s.conn for s in busy], timeout=0.25)
            for i, slot in enumerate(slots):
                if slot.chunk is None:
                    continue
                if slot.conn in ready:
                    try:
                        results = slot.conn.recv()
                    except (EOFError, OSError):
                        slots[i] = _replace(slot, ctx, state, i, limits, queue, on_result, "crashed")
                        continue
                    for result in results:
                        on_result(result)
                    slot.chunk = None
                elif state[2 * i] >= 0 and time.monotonic() - state[2 * i + 1] > hard_limit:
                    slots[i] = _replace(slot, ctx, state, i, limits, queue, on_result, "timeout")
                elif not slot.proc.is_alive():
                    slots[i] = _replace(slot, ctx, state, i, limits, queue, on_result, "crashed")
    finally:
        for slot in slots:
            slot.stop(kill=slot.chunk is not None)


def _replace(slot: _Slot, ctx: Any, state: Any, index: int, limits: QualityLimits,
             queue: deque[list[Task]], on_result: Callable[[dict[str, Any]], None],
             flag: str) -> _Slot:
    """Kill a stuck or dead worker, flag the file it was on, re-queue the rest."""
    chunk = slot.chunk or []
    k = int(state[2 * index])
    slot.stop(kill=True)
    if 0 <= k < len(chunk):
        log.warning("%s: %s after %.1f s; worker restarted", chunk[k][1], flag,
                    time.monotonic() - state[2 * index + 1])
        on_result(probe.with_flag(probe.empty_result(chunk[k][1]), flag))
        rest = chunk[:k] + chunk[k + 1:]
    else:
        rest = chunk
    if rest:
        queue.appendleft(rest)
    state[2 * index] = -1
    return _Slot(ctx, state, index, limits)


def cpu_workers(requested: int | None = None) -> int:
    """Worker count: the request, else the CPUs this process may use (at most 8)."""
    if requested is not None:
        return max(0, requested)
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(8, os.cpu_count() or 1))
