"""The JSON schema of training_report_<run>.json, and validation against it."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from training_lib.config.extensions import ACTIONS, DETECTORS, SEVERITIES
from training_lib.errors import ReportError

SCHEMA_PATH = Path(__file__).with_name("training_report.schema.json")


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return SCHEMA_PATH.read_text()


def schema() -> dict[str, Any]:
    """The report schema, with the anomaly enums of the extension registries: a detector
    registered anywhere is a valid `kind` without editing the JSON file."""
    loaded = json.loads(_schema_text())
    anomaly = loaded["$defs"]["anomaly"]["properties"]
    anomaly["kind"]["enum"] = list(DETECTORS.names())
    anomaly["severity"]["enum"] = list(SEVERITIES)
    anomaly["action"]["enum"] = list(ACTIONS)
    return loaded


def report_errors(report: dict[str, Any]) -> list[str]:
    """Every way `report` breaks the schema, as 'path: message' lines (empty: valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
            for error in sorted(validator.iter_errors(report),
                                 key=lambda e: [str(p) for p in e.path])]


def validate_report(report: dict[str, Any]) -> None:
    """ReportError naming every violation when `report` does not match the schema."""
    errors = report_errors(report)
    if errors:
        raise ReportError(f"training report of {report.get('run_id')!r} does not match "
                          f"{SCHEMA_PATH.name}:\n  " + "\n  ".join(errors[:20]))
