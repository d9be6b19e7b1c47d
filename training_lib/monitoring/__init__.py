"""Watching a model while it trains: system samples, anomaly detectors, anomaly events.

    system.py      SystemSampler: CPU, memory, disk I/O, GPUs (NVML) -> system.jsonl
    detectors/     streaming detectors on metric points, epochs and system samples,
                   one registered class per module (config.extensions.DETECTORS)
    events.py      AnomalyEvent and the run store's anomalies.jsonl
    callback.py    AnomalyMonitor: feeds the detectors from a ResumableFit, acts
    session.py     start_monitoring(): what the training worker calls

Nothing here imports Airflow; keras only in callback.py.
"""
