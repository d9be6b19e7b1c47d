"""Do the tests check the numbers? Five dishonest changes, each of which once left the
related tests green (issue 14), are applied one at a time to a temporary COPY of the
repository (never the working tree), and the tests that guard that code run against the
copy. A mutation must make at least one of them fail ("killed"); one that survives means
a test checks the shape of a number, not the number.

    python bench/check_honesty.py            # or: make check-honesty

First the same test files run on the unmutated copy (they must pass, or a kill would
prove nothing). Prints a table mutation -> killed/survived -> failing tests, and ends with
one JSON line {"bench": "check_honesty", ...}. Exit status 1 when a mutation survives,
cannot be applied (its code moved: update MUTATIONS), or the baseline fails.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("training_lib", "tests", "plugins", "presets", "dags", "pyproject.toml")
REPORTS = ("tests/training_lib/reports/test_plotted_data.py",
           "tests/training_lib/reports/test_figures.py")


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    edits: tuple[tuple[str, str], ...]  # (exact code, its dishonest replacement), each once
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation("training progress draws 0.2 + 2e^(-step/40), not the loss",
             "training_lib/reports/plots.py",
             (('for r in steps], [r["loss"] for r in steps]',
               'for r in steps], [0.2 + 2 * 2.718281828459045 ** (-r["step"] / 40)'
               ' for r in steps]'),),
             REPORTS),
    Mutation("system figure plots random CPU values",
             "training_lib/reports/plots.py",
             (('[s.get("cpu_percent", 0) for s in samples]',
               '[__import__("random").uniform(0, 100) for s in samples]'),),
             REPORTS),
    Mutation("sampler writes random CPU percentages",
             "training_lib/monitoring/system.py",
             (('"cpu_percent": self._process.cpu_percent(None),',
               '"cpu_percent": [self._process.cpu_percent(None),'
               ' __import__("random").uniform(0, 100)][1],'),
              ('"cpu_host_percent": psutil.cpu_percent(None),',
               '"cpu_host_percent": [psutil.cpu_percent(None),'
               ' __import__("random").uniform(0, 100)][1],')),
             ("tests/training_lib/monitoring/test_system.py",)),
    Mutation("classification accuracy is the constant 0.99",
             "training_lib/training/evaluation.py",
             (("metric = float(np.mean(predicted.argmax(-1) == y_test))", "metric = 0.99"),),
             ("tests/training_lib/training/test_evaluation.py",)),
    Mutation("promotion ignores the current champion",
             "training_lib/registry/promotion.py",
             (('result["baseline"], champ_metric, margin=p.margin,',
               'result["baseline"], None, margin=p.margin,'),),
             ("tests/training_lib/registry/test_promotion.py",
              "tests/training_lib/registry/test_aliases.py")),
)


def copy_repo(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / name)


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[int, list[str], str]:
    """(pytest's exit status, the failing tests' names, the output's tail)."""
    env = {**os.environ, "PYTHONPATH": f"{copy}{os.pathsep}{copy / 'plugins'}",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("TLIB_HOME", None)  # the copy's presets, not another checkout's
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
                           "-W", "ignore::DeprecationWarning", *tests],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    failed = sorted({Path(m.group(1)).name  # test_file.py::test_name
                     for m in re.finditer(r"^(?:FAILED|ERROR) (\S+)", out, re.MULTILINE)})
    return proc.returncode, failed, out[-3000:]


def mutate(copy: Path, mutation: Mutation) -> str | None:
    """Apply the mutation to the copy; the original text, or None when the code it changes
    is not there exactly once (it moved or changed: update MUTATIONS)."""
    path = copy / mutation.path
    original = text = path.read_text()
    for old, new in mutation.edits:
        if text.count(old) != 1:
            return None
        text = text.replace(old, new)
    path.write_text(text)
    return original


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args()
    started = time.monotonic()
    copy = Path(tempfile.mkdtemp(prefix="check-honesty-"))
    rows: list[dict] = []
    try:
        copy_repo(copy)
        where = subprocess.run([sys.executable, "-c", "import training_lib; "
                                "print(training_lib.__file__)"], cwd=copy, capture_output=True,
                               text=True, env={**os.environ, "PYTHONPATH": str(copy)})
        if not where.stdout.startswith(str(copy)):
            raise SystemExit(f"the copy's training_lib is not the one imported: {where.stdout}")
        every = tuple(dict.fromkeys(t for m in MUTATIONS for t in m.tests))
        code, failed, tail = run_tests(copy, every)
        baseline_ok = code == 0
        print(f"baseline (unmutated copy, {len(every)} test files): "
              f"{'pass' if baseline_ok else 'FAIL ' + ', '.join(failed)}")
        if not baseline_ok:
            print(tail)
        for mutation in MUTATIONS if baseline_ok else ():
            t0 = time.monotonic()
            original = mutate(copy, mutation)
            if original is None:
                rows.append({"mutation": mutation.name, "result": "not applied",
                             "tests": [], "seconds": 0.0})
                continue
            try:
                code, failed, _ = run_tests(copy, mutation.tests)
            finally:
                (copy / mutation.path).write_text(original)
            rows.append({"mutation": mutation.name, "result": "killed" if code else "survived",
                         "tests": failed, "seconds": round(time.monotonic() - t0, 1)})
    finally:
        if args.keep:
            print(f"copy kept at {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)

    width = max((len(r["mutation"]) for r in rows), default=10)
    print(f"\n{'mutation':<{width}}  {'result':<11}  {'s':>5}  failing tests")
    for r in rows:
        print(f"{r['mutation']:<{width}}  {r['result']:<11}  {r['seconds']:>5}  "
              f"{', '.join(r['tests']) or '-'}")
    survived = [r["mutation"] for r in rows if r["result"] == "survived"]
    missing = [r["mutation"] for r in rows if r["result"] == "not applied"]
    ok = baseline_ok and not survived and not missing and len(rows) == len(MUTATIONS)
    print(json.dumps({"bench": "check_honesty", "mutations": len(MUTATIONS),
                      "killed": sum(r["result"] == "killed" for r in rows),
                      "survived": survived, "not_applied": missing, "baseline_ok": baseline_ok,
                      "killed_by": {r["mutation"]: r["tests"] for r in rows},
                      "seconds": round(time.monotonic() - started, 1), "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
