"""custom_models entry points: found by reading files, never by importing, and only in
the packages a deployment allows."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from training_lib.config.entry_points import ENV, entry_point_error

ROOT = Path(__file__).resolve().parents[3]


def _check_in_fresh_interpreter(entry: str, packages: str = "") -> dict:
    """entry_point_error in a clean process, with the modules it left imported."""
    code = (
        "import json, sys\n"
        "from training_lib.config.entry_points import entry_point_error\n"
        f"error = entry_point_error({entry!r})\n"
        "print(json.dumps({'error': error, 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, ENV: packages, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_module_outside_the_allowed_packages_is_refused_without_importing_it():
    result = _check_in_fresh_interpreter("this.x:f")
    assert "this" not in result["modules"]  # importing `this` prints the Zen of Python
    assert "a module in training_lib, plugins/ or a package named in TLIB_MODEL_PACKAGES" \
        in result["error"]
    assert "'this.x'" in result["error"]


def test_a_built_in_builder_is_found_without_importing_its_package():
    result = _check_in_fresh_interpreter("training_lib.models.vision:build")
    assert result["error"] is None
    # find_spec("training_lib.models.vision") would have imported training_lib.models
    assert "training_lib.models" not in result["modules"]
    assert "keras" not in result["modules"]


def test_a_user_package_is_allowed_only_when_named_in_the_environment():
    entry = "tests.fixtures.custom_models:tiny_digits"
    refused = _check_in_fresh_interpreter(entry)
    assert "'tests.fixtures.custom_models' is in none of" in refused["error"]
    allowed = _check_in_fresh_interpreter(entry, packages="other_pkg, tests.fixtures")
    assert allowed["error"] is None
    assert "tests.fixtures.custom_models" not in allowed["modules"]
    assert "keras" not in allowed["modules"]  # the module imports keras at its top


def test_a_package_of_the_plugins_folder_is_allowed():
    assert entry_point_error("tlib_airflow.hostname:worker_name") is None


@pytest.mark.parametrize(("entry", "expected"), [
    ("training_lib.models.vision", "an entry point written 'module:function'"),
    ("training_lib.models.vision:", "an entry point written 'module:function'"),
    ("training_lib..vision:build", "an entry point written 'module:function'"),
    ("training_lib/models:build", "an entry point written 'module:function'"),
    ("training_lib.models.no_such_module:build",
     "an existing Python module named 'training_lib.models.no_such_module'"),
    ("training_lib.models.vision.deeper:build", "an existing Python module named"),
    ("training_lib.models.vision:no_such_builder", "a function 'no_such_builder' defined in"),
    ("os.path:join", "is in none of"),
    ("json:dumps", "is in none of"),
])
def test_unusable_entry_points_say_why(entry, expected):
    assert expected in entry_point_error(entry)


def test_a_prefix_is_not_a_package(monkeypatch):
    monkeypatch.setenv(ENV, "tests.fix")
    assert "is in none of" in entry_point_error("tests.fixtures.custom_models:tiny_digits")
