"""Airflow `hostname_callable`: a worker's name from TLIB_WORKER_NAME, else the FQDN.

Several Celery workers on one machine (tests, or containers sharing a host name) then
show as distinct hosts in task instances, and retries can be seen to move.
"""
from __future__ import annotations

import os
import socket


def worker_name() -> str:
    return os.environ.get("TLIB_WORKER_NAME") or socket.getfqdn()
