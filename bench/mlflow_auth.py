"""What MLflow's basic-auth costs per request, with and without its credential cache.

MLflow's basic-auth app checks the password of every request with a deliberately slow
hash; `credentials.AUTH_CACHE_TTL_SECONDS` turns on its own cache of verified logins
(`auth_cache_ttl_seconds` in basic_auth.ini). For each setting this starts an MLflow
server as `make up` does (`--app-name basic-auth`, one worker, a fresh store, the ini
from `credentials.write_auth_ini`), then times, as the admin login:
- N small authenticated REST calls (search registered models);
- logging a small Keras model and registering it the way the pipeline does
  (`tracking.log_keras_model`, `registry.client.create_version` with tags, an alias),
  timed the second time (the first one pays the imports of MLflow's Keras flavour).
Baseline in the same process: the same server with the cache off (ttl 0).

    python bench/mlflow_auth.py [--requests 30]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from training_lib.stack import credentials  # noqa: E402
from training_lib.stack.control import mlflow_server_command  # noqa: E402

ADMIN, PASSWORD = "admin", "bench-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, path: str, body: dict | None = None) -> dict:
    token = base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
    req = urllib.request.Request(
        url + path, data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def start_server(folder: Path, ttl: int) -> tuple[subprocess.Popen, str]:
    folder.mkdir(parents=True)
    ini = folder / "basic_auth.ini"
    credentials.write_auth_ini(ini, f"sqlite:///{folder / 'auth.db'}", ADMIN, PASSWORD,
                               cache_ttl_seconds=ttl)
    port = free_port()
    env = {**os.environ, "MLFLOW_AUTH_CONFIG_PATH": str(ini),
           "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}
    proc = subprocess.Popen(
        mlflow_server_command(port, folder / "mlflow.db", folder / "artifacts"),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            request(url, "/api/2.0/mlflow/registered-models/search?max_results=1")
            return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit(f"mlflow server on {url} did not start in 180 s")


def register_one(url: str, name: str) -> float:
    """Log a small Keras model to a run and register it as a version with tags and an
    alias, through the registry facade the pipeline uses; seconds for all of it."""
    import keras
    import mlflow
    import numpy as np
    from training_lib.registry import client as registry, tracking

    os.environ.update(MLFLOW_TRACKING_USERNAME=ADMIN, MLFLOW_TRACKING_PASSWORD=PASSWORD,
                      MLFLOW_TRACKING_URI=url, MLFLOW_REGISTRY_URI=url)
    registry.reset_client()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    example = np.zeros((2, 8), np.float32)
    model.predict(example, verbose=0)  # traced before the clock starts
    start = time.perf_counter()
    registry.client()
    with mlflow.start_run() as run:
        pass
    uri = tracking.log_keras_model(run.info.run_id, model, example)
    registry.create_registered_model(name)
    version = registry.create_version(name, uri, {f"tag_{i}": str(i) for i in range(12)},
                                      description="bench")
    for key in ("status", "status_reason", "metric_accuracy"):
        registry.set_version_tag(name, version.version, key, "x")
    registry.set_alias(name, "champion", version.version)
    return time.perf_counter() - start


def measure(ttl: int, n: int, folder: Path) -> dict:
    proc, url = start_server(folder, ttl)
    try:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            request(url, "/api/2.0/mlflow/registered-models/search?max_results=1")
            times.append(time.perf_counter() - t)
        register_one(url, f"warm_up_ttl{ttl}")  # first-call imports, not counted
        register_s = register_one(url, f"bench_model_ttl{ttl}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"ttl_s": ttl, "request_median_s": round(statistics.median(times), 4),
            "log_and_register_s": round(register_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-auth-") as tmp:
        baseline = measure(0, args.requests, Path(tmp) / "off")
        print(f"cache off: {baseline}", flush=True)
        cached = measure(credentials.AUTH_CACHE_TTL_SECONDS, args.requests, Path(tmp) / "on")
        print(f"cache on:  {cached}", flush=True)
    print(json.dumps({"bench": "mlflow_auth", "requests": args.requests, "off": baseline,
                      "on": cached,
                      "request_speedup": round(baseline["request_median_s"]
                                               / cached["request_median_s"], 1),
                      "register_speedup": round(baseline["log_and_register_s"]
                                                / cached["log_and_register_s"], 1)}))


if __name__ == "__main__":
    main()
