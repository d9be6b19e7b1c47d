"""Create or resize the Airflow pools training tasks take slots from.

Task processes have no metadata-DB access in Airflow 3 (their connection string is
masked), so pools are set through the public REST API with the stack's credentials.
Under `dag.test()` there is no API server; pools do not matter there and a warning
says they were left alone.
"""
from __future__ import annotations

import logging

log = logging.getLogger("airflow.task")


def sync_pools(pools: dict[str, int]) -> bool:
    from training_lib.stack.airflow_api import AirflowApi, AirflowApiError
    from training_lib.stack.pools import upsert_pools

    try:
        upsert_pools(AirflowApi(), pools)
    except AirflowApiError as e:
        log.warning("pools not resized to %s: %s", pools, e)
        return False
    log.info("pools set: %s", pools)
    return True
