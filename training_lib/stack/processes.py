"""Start, find and stop the stack's processes by PID (never by name).

Each component is started in its own session with its PID in var/run/<name>.pid.
`airflow standalone` leaves its scheduler and LocalExecutor worker running after a
SIGTERM to its group, so we also record every descendant (pid + start time, which
guards against PID reuse) once the stack is healthy, and on stop we terminate the
whole recorded tree plus whatever descendants exist at that moment.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from training_lib import settings

log = logging.getLogger(__name__)


def run_dir() -> Path:
    path = settings.var_dir() / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = settings.var_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Tracked:
    pid: int
    create_time: float

    def process(self) -> psutil.Process | None:
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 1.0:
                return None  # the PID was reused by an unrelated process
            return proc if proc.status() != psutil.STATUS_ZOMBIE else None
        except psutil.Error:
            return None


def _state_file(name: str) -> Path:
    return run_dir() / f"{name}.json"


def start(name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> Tracked:
    logfile = open(log_dir() / f"{name}.log", "ab")
    proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)
    tracked = Tracked(proc.pid, psutil.Process(proc.pid).create_time())
    _save(name, {"cmd": cmd, "main": tracked.__dict__, "tree": []})
    return tracked


def _save(name: str, state: dict) -> None:
    tmp = _state_file(name).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(_state_file(name))


def _load(name: str) -> dict | None:
    try:
        return json.loads(_state_file(name).read_text())
    except (OSError, ValueError):
        return None


def main_process(name: str) -> psutil.Process | None:
    state = _load(name)
    return Tracked(**state["main"]).process() if state else None


def record_tree(name: str) -> int:
    """Remember every current descendant of the component (call once it is up)."""
    state = _load(name)
    proc = main_process(name)
    if not state or proc is None:
        return 0
    known = {(t["pid"], t["create_time"]) for t in state["tree"]}
    for child in proc.children(recursive=True):
        try:
            known.add((child.pid, child.create_time()))
        except psutil.Error:
            continue
    state["tree"] = [{"pid": p, "create_time": c} for p, c in sorted(known)]
    _save(name, state)
    return len(state["tree"])


def processes(name: str) -> list[psutil.Process]:
    """The live processes of a component: main, its descendants, and recorded ones."""
    state = _load(name)
    if not state:
        return []
    found: dict[int, psutil.Process] = {}
    main = Tracked(**state["main"]).process()
    if main is not None:
        found[main.pid] = main
        for child in main.children(recursive=True):
            found[child.pid] = child
    for item in state["tree"]:
        proc = Tracked(**item).process()
        if proc is not None:
            found.setdefault(proc.pid, proc)
            for child in _children(proc):
                found.setdefault(child.pid, child)
    return list(found.values())


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def stop(name: str, grace: float = 15.0) -> int:
    """Terminate every process of the component; returns how many were running."""
    procs = processes(name)
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.Error:
            continue
    _, alive = psutil.wait_procs(procs, timeout=grace)
    # children spawned during shutdown, and anything that ignored SIGTERM
    stragglers = {p.pid: p for p in alive}
    for proc in processes(name):
        stragglers.setdefault(proc.pid, proc)
    for proc in stragglers.values():
        try:
            proc.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(list(stragglers.values()), timeout=5)
    _state_file(name).unlink(missing_ok=True)
    return len(procs)


def wait_until(check, timeout: float, interval: float = 1.0, what: str = "") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    log.warning("timed out after %.0fs waiting for %s", timeout, what)
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
