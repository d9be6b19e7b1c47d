"""Metrics survive an MLflow outage: queued while the server is down, delivered when it is
back; a gap that never closes is reported, and training never blocks on it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from training_lib.registry.metric_sink import MlflowMetricSink


class FlakyServer:
    def __init__(self) -> None:
        self.up = True
        self.received: list = []

    def __call__(self, run_id, metrics):
        if not self.up:
            raise ConnectionError("Connection refused")
        self.received.extend(metrics)


def test_outage_queues_then_delivers_late():
    server = FlakyServer()
    sink = MlflowMetricSink("run", flush_every_s=0.05, deliver=server)
    sink.log(1, {"loss": 1.0})
    time.sleep(0.2)
    server.up = False
    start = time.monotonic()
    for step in range(2, 50):
        sink.log(step, {"loss": 1.0 / step})
    assert time.monotonic() - start < 0.1  # logging never waits on the server
    time.sleep(0.3)
    assert sink.failures >= 1 and len(server.received) == 1
    server.up = True
    report = sink.close()
    assert [m.step for m in server.received] == list(range(1, 50))
    assert report["undelivered"] == 0 and report["delivered_late"] == 48
    assert report["outage_seconds"] > 0.2


def test_gap_that_never_closes_is_reported():
    server = FlakyServer()
    server.up = False
    sink = MlflowMetricSink("run", flush_every_s=0.05, deliver=server)
    sink.log(1, {"loss": 0.5, "accuracy": float("nan")})  # NaN is not sent
    report = sink.close(deadline_s=0.3)
    assert report["undelivered"] == 1 and "Connection refused" in report["last_error"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, store: Path) -> subprocess.Popen:
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    proc = subprocess.Popen([mlflow, "server", "--host", "127.0.0.1", "--port", str(port),
                             "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                             "--artifacts-destination", str(store / "artifacts"),
                             "--workers", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("mlflow server did not start")


@pytest.mark.slow
def test_real_server_killed_and_restarted(tmp_path, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    from training_lib.registry import client, tracking

    client.reset_client()
    proc = _start_server(port, tmp_path)
    try:
        run_id = tracking.create_run("outage")
        sink = MlflowMetricSink(run_id, flush_every_s=0.2)
        for step in range(1, 11):
            sink.log(step, {"loss": 1.0 / step})
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGKILL)  # the server dies mid-training
        proc.wait()
        for step in range(11, 31):
            sink.log(step, {"loss": 1.0 / step})
        time.sleep(1.5)
        assert sink.failures >= 1
        proc = _start_server(port, tmp_path)
        report = sink.close(deadline_s=30)
        history = tracking.get_metric_history(run_id, "loss")
        assert sorted(m.step for m in history) == list(range(1, 31))
        assert report["undelivered"] == 0 and report["delivered_late"] >= 20
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        client.reset_client()
