"""Airflow pools for training slots, sized from the machine probe, set through the API."""
from __future__ import annotations

from training_lib.resources.plan import CPU_POOL, GPU_POOL, plan_resources
from training_lib.resources.probe import probe_machine
from training_lib.stack.airflow_api import AirflowApi, AirflowApiError

DESCRIPTIONS = {
    CPU_POOL: "training slots on CPU (one per CPU psutil reports usable)",
    GPU_POOL: "training slots on GPU (GPUs x packing factor from NVML; CPU slots without GPUs)",
}


def probed_pools() -> dict[str, int]:
    return plan_resources(probe_machine(), []).pools


def upsert_pools(api: AirflowApi, pools: dict[str, int]) -> None:
    for name, slots in pools.items():
        body = {"name": name, "slots": int(slots), "description": DESCRIPTIONS.get(name, name),
                "include_deferred": False}
        try:
            api._request("PATCH", f"/api/v2/pools/{name}", body)
        except AirflowApiError as e:
            if "HTTP 404" not in str(e):
                raise
            api._request("POST", "/api/v2/pools", body)
