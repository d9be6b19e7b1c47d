"""Tiny real data for end-to-end runs: scikit-learn's digits as PNGs in class folders,
arithmetic and boolean-logic records computed by evaluating real expressions."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def write_tiny_data(root: Path, per_class: int = 12, n_records: int = 400) -> Path:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts: dict[int, int] = {}
    for image, label in zip(digits.images, digits.target):
        if counts.get(label, 0) >= per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        folder = root / "images" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (image / 16.0 * 255).astype(np.uint8)
        Image.fromarray(pixels).resize((32, 32)).save(folder / f"{label}_{counts[label]:03d}.png")
    rng = random.Random(0)
    arithmetic = []
    for _ in range(n_records):
        a, b, op = rng.randint(0, 20), rng.randint(0, 20), rng.choice("+-")
        arithmetic.append({"problem": f"{a}{op}{b}", "answer": str(a + b if op == "+" else a - b)})
    (root / "math").mkdir(parents=True, exist_ok=True)
    (root / "math" / "arithmetic.json").write_text(json.dumps(arithmetic))
    logic = []
    for _ in range(n_records):
        text = _proposition(rng, 3)
        logic.append({"proposition": text, "answer": bool(eval(text))})  # noqa: S307 - our own literals
    (root / "logic").mkdir(parents=True, exist_ok=True)
    (root / "logic" / "propositions.jsonl").write_text("\n".join(json.dumps(r) for r in logic))
    return root


def _proposition(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["True", "False"])
    if rng.random() < 0.2:
        return f"not {_proposition(rng, depth - 1)}"
    op = rng.choice(["and", "or"])
    return f"({_proposition(rng, depth - 1)} {op} {_proposition(rng, depth - 1)})"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata DB in this session's AIRFLOW_HOME (dag.test needs one)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=os.environ)
    return home
