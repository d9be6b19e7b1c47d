"""The run folder: the on-disk contract of one DAG run, on the ground floor of the library.

    files.py     atomic JSON writer, JSON/JSONL readers (torn lines skipped)
    folder.py    RunFolder / RoundFolder: a typed accessor for every file a run holds
    context.py   RunContext (a run folder + its pinned preset), start_run, load_run
    faults.py    the run's fault record (faults.jsonl)
    failure.py   why the run failed for good (failure.json), in one line
    retries.py   each failed try: killed at step N, resumed from checkpoint M, K steps lost
    outcome.py   what a run's files say: model results, problems, trainable models

Every other package reaches a run's files through these accessors; no module spells a
run path by hand. This package imports only config, resources, errors and settings.
"""
