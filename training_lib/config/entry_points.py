"""Checking a preset's `custom_models.<name>.entry` ("module:function") without importing.

Presets are validated while Airflow parses DAG files, so validation must neither run a
module's code nor let a preset name any module of the interpreter: the module has to be
in `training_lib`, in a package of the project's `plugins/` folder, or in a package the
deployment names in TLIB_MODEL_PACKAGES (comma-separated, e.g. `my_team.models`). Its
file is found by walking package folders (`importlib.util.find_spec("a.b")` would import
`a`), then parsed with `ast` to see that the function is defined.

    >>> entry_point_error("training_lib.models.vision:build") is None
    True
    >>> entry_point_error("this.x:f")  # doctest: +ELLIPSIS
    "a module in training_lib, plugins/ or a package named in TLIB_MODEL_PACKAGES ..."
"""
from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
from importlib.machinery import ModuleSpec
from pathlib import Path

from training_lib import settings

ENV = "TLIB_MODEL_PACKAGES"
BUILT_IN = ("training_lib",)


def model_packages() -> tuple[str, ...]:
    """Packages besides `training_lib` and `plugins/` whose functions presets may name."""
    names = (name.strip() for name in os.environ.get(ENV, "").split(","))
    return (*BUILT_IN, *(name for name in names if name))


def plugins_dir() -> Path:
    return settings.PROJECT_ROOT / "plugins"


def entry_point_error(entry: str) -> str | None:
    """Why `entry` is not a usable "module:function", or None when it is."""
    module, sep, function = entry.partition(":")
    parts = module.split(".")
    if not sep or not all(part.isidentifier() for part in parts) or not function.isidentifier():
        return "an entry point written 'module:function'"
    top = _find_top(parts[0])
    if not _allowed(module, top):
        return (f"a module in training_lib, plugins/ or a package named in {ENV} "
                f"(module {module!r} is in none of: {', '.join(model_packages())}, "
                f"{plugins_dir()})")
    origin = _module_file(parts, top)
    if origin is None:
        return f"an existing Python module named {module!r} (no such file)"
    try:
        tree = ast.parse(origin.read_text(encoding="utf-8"), filename=str(origin))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as e:
        return f"a readable module {module!r} ({e})"
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if function not in defined:
        return f"a function {function!r} defined in {origin}"
    return None


def _find_top(name: str) -> ModuleSpec | None:
    # a top-level name has no parent to import: find_spec only asks the finders
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _allowed(module: str, top: ModuleSpec | None) -> bool:
    if any(module == pkg or module.startswith(pkg + ".") for pkg in model_packages()):
        return True
    folder = plugins_dir().resolve()
    locations = [*(top.submodule_search_locations or ()), top.origin or ""] if top else []
    return any(loc and Path(loc).resolve().is_relative_to(folder) for loc in locations)


def _module_file(parts: list[str], spec: ModuleSpec | None) -> Path | None:
    """The source file of module `parts`, looked up folder by folder from its top package."""
    for depth in range(1, len(parts)):
        locations = spec.submodule_search_locations if spec else None
        if not locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth + 1]),
                                                        list(locations))
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)
