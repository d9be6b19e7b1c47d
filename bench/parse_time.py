"""DAG parse time, measured the way Airflow measures it: DagBag in a warm interpreter
with airflow already imported (the interpreter start and `import airflow.sdk`,
~0.7 s here, are not counted).

For each DAG file: the median of several DagBag loads of that file alone, after a
warm-up load (the DAG processor re-parses files in a long-lived process). Baseline
in the same process: a minimal DAG file with one task. Then the whole folder.
Goal: every file under 0.3 s, the folder under 2 s.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from training_lib.stack.env import apply_environment  # noqa: E402

apply_environment()
import airflow.sdk  # noqa: E402,F401  (not counted)
from airflow.dag_processing.dagbag import DagBag  # noqa: E402

REPEATS = 5
BASELINE = '''from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG(dag_id="baseline_dag", schedule=None) as dag:
    EmptyOperator(task_id="noop")
'''


def time_file(path: Path) -> float:
    DagBag(dag_folder=str(path))  # warm-up: module caches, like a long-lived DAG processor
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        bag = DagBag(dag_folder=str(path))
        samples.append(time.perf_counter() - start)
        if bag.import_errors:
            raise SystemExit(f"{path}: import error: {bag.import_errors}")
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        baseline_file = Path(tmp) / "baseline_dag.py"
        baseline_file.write_text(BASELINE)
        baseline = time_file(baseline_file)
    files = sorted((ROOT / "dags").glob("*.py"))
    cold_start = time.perf_counter()
    first_bag = DagBag(dag_folder=str(ROOT / "dags"))
    cold = time.perf_counter() - cold_start
    rows = [(path.name, time_file(path)) for path in files]
    start = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    folder = time.perf_counter() - start
    print(f"{'DAG file':40} {'parse s':>8} {'x baseline':>10}")
    for name, seconds in rows:
        print(f"{name:40} {seconds:8.4f} {seconds / baseline:10.1f}")
    worst = max(s for _, s in rows)
    print(f"{'baseline (1-task DAG)':40} {baseline:8.4f}")
    print(f"whole folder: {len(bag.dags)} DAGs, {len(bag.import_errors)} import errors, "
          f"{folder:.3f} s warm, {cold:.3f} s first load in this process "
          f"({len(first_bag.dags)} DAGs)")
    ok = worst < 0.3 and cold < 2.0 and not bag.import_errors
    print("goal (every file < 0.3 s, folder < 2 s):", "met" if ok else "MISSED")
    print(json.dumps({"bench": "parse_time", "files": len(rows), "worst_file_s": round(worst, 4),
                      "baseline_s": round(baseline, 4), "folder_warm_s": round(folder, 3),
                      "folder_first_s": round(cold, 3), "import_errors": len(bag.import_errors),
                      "goal_met": ok}))


if __name__ == "__main__":
    main()
