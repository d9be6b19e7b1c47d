"""JSON records and tables for the demo folder, each from real computation.

- arithmetic: `{"problem": "12+7", "answer": "19"}`, the answer computed by Python;
- proposition: `{"proposition": "True and not False", "answer": true}`, evaluated;
- environment: a ball on a 1-D track with friction and walls, one semi-implicit Euler
  step per record: `{"state_before": [x, v], "action": a, "state_after": [x', v']}`;
- strategy: gradient descent on random quadratic problems; the context describes the
  run so far and the strategy is the learning-rate change that gave the lowest loss
  five steps later when all three were actually tried;
- features: the 64 pixel intensities of scikit-learn's digits, scaled to [0, 1];
- tables: scikit-learn's bundled iris, wine and breast-cancer tables with a `target` column.
"""
from __future__ import annotations

import ast
import csv
import json
import operator
import random
from pathlib import Path
from typing import Any, Callable

import numpy as np

_OPS: dict[type, Callable[[Any, Any], Any]] = {ast.Add: operator.add, ast.Sub: operator.sub,
                                                ast.Mult: operator.mul}


def _evaluate(expression: str) -> int:
    """Integer arithmetic over + - * and parentheses, by walking the parsed tree."""
    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        raise ValueError(f"unsupported expression {expression!r}")
    return walk(ast.parse(expression, mode="eval"))


def arithmetic(n: int, rng: random.Random) -> list[dict[str, str]]:
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        shape = rng.random()
        if shape < 0.4:
            problem = f"{a}+{b}"
        elif shape < 0.75:
            problem = f"{a}-{b}"
        elif shape < 0.9:
            problem = f"{a % 13}*{b % 13}"
        else:
            problem = f"({a % 20}+{b % 20})*{rng.randint(2, 9)}"
        out.append({"problem": problem, "answer": str(_evaluate(problem))})
    return out


def _bool_expr(depth: int, rng: random.Random) -> str:
    if depth == 0 or rng.random() < 0.25:
        atom = rng.choice(("True", "False"))
        return f"not {atom}" if rng.random() < 0.3 else atom
    op = rng.choice(("and", "or"))
    left, right = _bool_expr(depth - 1, rng), _bool_expr(depth - 1, rng)
    expr = f"{left} {op} {right}"
    if rng.random() < 0.4:
        expr = f"({expr})"
        if rng.random() < 0.3:
            expr = f"not {expr}"
    return expr


def _truth(expression: str) -> bool:
    def walk(node: ast.AST) -> bool:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not walk(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        raise ValueError(f"unsupported proposition {expression!r}")
    return walk(ast.parse(expression, mode="eval"))


def propositions(n: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        expr = _bool_expr(rng.randint(1, 3), rng)
        out.append({"proposition": expr, "answer": _truth(expr)})
    return out


def environment(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """A ball on a track [-1, 1]: force action in {-1, 0, 1}, friction, elastic walls."""
    dt, friction, force = 0.05, 0.4, 2.0
    out = []
    x, v = rng.uniform(-0.5, 0.5), 0.0
    for i in range(n):
        if i % 50 == 0:
            x, v = rng.uniform(-0.9, 0.9), rng.uniform(-1, 1)
        action = rng.choice((-1, 0, 1))
        v_new = v + dt * (force * action - friction * v)
        x_new = x + dt * v_new
        if abs(x_new) > 1.0:  # bounce off the wall
            x_new = np.sign(x_new) * 2.0 - x_new
            v_new = -v_new
        out.append({"state_before": [round(x, 5), round(v, 5)], "action": action,
                    "state_after": [round(float(x_new), 5), round(float(v_new), 5)]})
        x, v = float(x_new), float(v_new)
    return out


def strategy(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Try increase/keep/decrease of the learning rate for real and record the winner."""
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    choices = (("increase_lr", 2.0), ("keep_lr", 1.0), ("decrease_lr", 0.5))
    out = []
    while len(out) < n:
        dim = 6
        eig = np.exp(nrng.uniform(np.log(0.05), np.log(nrng.uniform(1, 50)), dim))
        q, _ = np.linalg.qr(nrng.normal(size=(dim, dim)))
        a = q @ np.diag(eig) @ q.T
        w = nrng.normal(size=dim)
        lr = float(np.exp(nrng.uniform(np.log(1e-3), np.log(2.5 / eig.max()))))
        loss = lambda u: 0.5 * float(u @ a @ u)  # noqa: E731
        history = [loss(w)]
        for _ in range(3):
            w = w - lr * (a @ w)
            history.append(loss(w))
        if not np.isfinite(history[-1]) or history[-1] <= 1e-12:
            continue
        results = {}
        for name, factor in choices:
            u = w.copy()
            for _ in range(5):
                u = u - lr * factor * (a @ u)
            results[name] = loss(u) if np.all(np.isfinite(u)) else float("inf")
        best = min(results, key=results.get)
        context = [round(float(np.log10(eig.max() / eig.min())), 4),
                   round(float(np.log10(history[-1])), 4),
                   round(float(history[-1] / history[-2]), 4),
                   round(float(np.log10(lr * eig.max())), 4)]
        out.append({"context": context, "strategy": best})
    return out


def features(digits: Any) -> list[dict[str, Any]]:
    return [{"features": [round(float(v) / 16, 4) for v in row]} for row in digits.data]


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item) + "\n")


def write_json(path: Path, items: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(items, indent=1), encoding="utf-8")


def write_table(path: Path, bunch: Any, delimiter: str = ",") -> None:
    """A scikit-learn Bunch as a table with a final `target` column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [str(n).replace(" ", "_") for n in bunch.feature_names]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow([*names, "target"])
        for row, target in zip(bunch.data, bunch.target):
            writer.writerow([*(f"{v:g}" for v in row), bunch.target_names[target]])
