"""Great Expectations validation of a catalog, with Data Docs saved in the run folder.

The catalog becomes tables: `files` (one row per file), `supervised` (the usable files
of the supervised types), `classes` (one row per (type, label) of those, with its
count) and `trainable` (the classes of at least `min_class_files` files). Two suites
run on them, built from the preset. Critical expectations are only those that make
training meaningless; a small class is a warning (routing drops it from training):

| suite    | expectation                                  | threshold                   |
|----------|----------------------------------------------|-----------------------------|
| critical | at least one file                            |                             |
| critical | not every file flagged                       | max score >= quality_floor  |
| critical | labelled data: a trainable class             | >= 1 row (*)                |
| critical | more than a single class                     | >= 2 rows (*)               |
| warning  | type in the preset's types (all but unknown) | every file                  |
| warning  | score >= quality_floor                       | mostly 0.9                  |
| warning  | content hash unique                          | mostly 0.95                 |
| warning  | label present on supervised files            | mostly 0.9                  |
| warning  | samples per class >= min_class_files         | every class                 |

(*) only when the preset names supervised file models as its targets (`supervised_types`
not empty); with `target_models: auto` they are warnings, since routing then leaves out
a model without classes instead of failing the run.

`validate_catalog` never raises on a failed expectation: the caller decides (the
pipeline raises `ValidationFailed(summary)` when `summary.success` is false).
Great Expectations is imported inside the function only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_lib.data.records import FileRecord
from training_lib.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from training_lib.config.schema import PresetModel

log = logging.getLogger(__name__)

ALL_TYPES = ("image", "audio", "video", "text", "json", "tabular", "document", "archive", "code")


@dataclass
class ValidationSummary:
    success: bool
    critical: list[str]  # failed critical expectations, each naming example files
    warnings: list[str]
    docs_path: Path | None  # Data Docs index.html inside out_dir
    results: list[dict[str, Any]] = field(default_factory=list)  # every expectation's outcome

    def __str__(self) -> str:
        lines = [f"data validation {'passed' if self.success else 'FAILED'}"]
        lines += [f"  CRITICAL {line}" for line in self.critical]
        lines += [f"  warning  {line}" for line in self.warnings]
        if self.docs_path:
            lines.append(f"  Data Docs: {self.docs_path}")
        return "\n".join(lines)


def catalog_frames(records: list[FileRecord], supervised_types: set[str],
                   quality_floor: float) -> tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]:
    """(files, supervised usable files, classes) tables of a catalog; labels are the
    records' own (`data.labels.preset_labels` sets them)."""
    import pandas as pd

    files = pd.DataFrame({
        "path": [r.path for r in records], "type": [r.type for r in records],
        "format": [r.format for r in records], "label": [r.label for r in records],
        "split": [r.split for r in records], "score": [float(r.score) for r in records],
        "content_hash": [r.content_hash or None for r in records],
        "flags": [",".join(r.flags) for r in records],
    })
    usable = files[(files["score"] >= quality_floor) & files["type"].isin(sorted(supervised_types))]
    supervised = usable.reset_index(drop=True)
    labeled = supervised.dropna(subset=["label"])
    classes = (labeled.groupby(["type", "label"]).size().reset_index(name="count")
               if len(labeled) else pd.DataFrame({"type": [], "label": [], "count": []}))
    classes["class"] = classes["type"].astype(str) + "/" + classes["label"].astype(str)
    return files, supervised, classes


def _suites(preset: "PresetModel", labels_needed: bool) -> dict[str, list[tuple[str, str, Any]]]:
    """severity -> [(table, description, expectation)]."""
    import great_expectations.expectations as gxe

    floor, least = preset.quality_floor, preset.min_class_files
    chosen = {t for selector in preset.datasets for t in (selector.types or ())}
    allowed = sorted(chosen) if chosen else list(ALL_TYPES)
    labelled = [
        ("trainable", f"labelled data: at least one class of {least} or more usable files",
         gxe.ExpectTableRowCountToBeBetween(min_value=1)),
        ("trainable", "more than a single class to tell apart",
         gxe.ExpectTableRowCountToBeBetween(min_value=2)),
    ]
    auto = preset.target_models == "auto"
    return {
        "critical": [
            ("files", "at least one file", gxe.ExpectTableRowCountToBeBetween(min_value=1)),
            ("files", f"not every file flagged: some quality score >= {floor}",
             gxe.ExpectColumnMaxToBeBetween(column="score", min_value=floor)),
            *(labelled if labels_needed and not auto else []),
        ],
        "warning": [
            ("files", f"type in {allowed}", gxe.ExpectColumnValuesToBeInSet(column="type", value_set=allowed)),
            ("files", f"quality score >= {floor} for at least 90% of files",
             gxe.ExpectColumnValuesToBeBetween(column="score", min_value=floor, mostly=0.9)),
            ("files", "content hash unique for at least 95% of files",
             gxe.ExpectColumnValuesToBeUnique(column="content_hash", mostly=0.95)),
            ("supervised", "label present on at least 90% of supervised files",
             gxe.ExpectColumnValuesToNotBeNull(column="label", mostly=0.9)),
            ("classes", f"at least min_class_files={least} files in every class (smaller "
                        "classes are dropped from training)",
             gxe.ExpectColumnValuesToBeBetween(column="count", min_value=least)),
            *(labelled if labels_needed and auto else []),
        ],
    }


def validate_catalog(records: list[FileRecord], *, preset: "PresetModel", supervised_types: set[str],
                     out_dir: Path) -> ValidationSummary:
    """Validate the catalog against suites built from the preset; Data Docs go to
    out_dir/data_docs/index.html. Never raises on failed expectations."""
    try:
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction
    except ImportError as e:
        raise DataError(f"great_expectations is not installed ({e}); pip install -r requirements.txt") from e
    out_dir = Path(out_dir)
    docs_dir = out_dir / "data_docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    files, supervised, classes = catalog_frames(records, supervised_types, preset.quality_floor)
    trainable = classes[classes["count"] >= preset.min_class_files].reset_index(drop=True)
    tables = {"files": files, "supervised": supervised, "classes": classes,
              "trainable": trainable}
    index = {"files": "path", "supervised": "path", "classes": "class", "trainable": "class"}
    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    context.add_data_docs_site(site_name="run", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    source = context.data_sources.add_pandas("catalog")
    definitions = []
    outcome: list[tuple[str, str, str, Any]] = []
    for severity, items in _suites(preset, bool(supervised_types)).items():
        for table in tables:
            chosen = [(desc, exp) for tbl, desc, exp in items if tbl == table]
            if not chosen:
                continue
            name = f"{severity}_{table}"
            suite = context.suites.add(gx.ExpectationSuite(name=name))
            for _, expectation in chosen:
                suite.add_expectation(expectation)
            asset = source.add_dataframe_asset(name=name)
            batch = asset.add_batch_definition_whole_dataframe(f"{name}_batch")
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite))
            definitions.append(definition)
            outcome.extend((severity, table, desc, exp) for desc, exp in chosen)
    results = {}
    for definition in definitions:  # one run per table: each needs its own dataframe
        table = definition.name.split("_", 1)[1]
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{definition.name}_checkpoint", validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="data_docs", site_names=["run"])],
            result_format={"result_format": "COMPLETE",
                           "unexpected_index_column_names": [index[table]]}))
        run = checkpoint.run(batch_parameters={"dataframe": tables[table]})
        for result in run.run_results.values():
            results[definition.name] = result
    return _summarize(results, outcome, tables, index, docs_dir / "index.html")


def _quiet(context: Any) -> None:
    """No progress bars on stderr, and no default Data Docs site in a stray temporary folder."""
    import shutil
    import tempfile

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    default = context.list_data_docs_sites().get("local_site")
    if default is not None:
        context.delete_data_docs_site("local_site")
        base = Path(default.get("store_backend", {}).get("base_directory", ""))
        if base.is_dir() and base.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(base, ignore_errors=True)


def _summarize(results: dict[str, Any], outcome: list[tuple[str, str, str, Any]], tables: dict[str, Any],
               index: dict[str, str], docs_path: Path) -> ValidationSummary:
    critical, warnings, rows = [], [], []
    by_suite: dict[str, list[Any]] = {}
    for name, result in results.items():
        by_suite[name] = list(result.results)
    cursor: dict[str, int] = {}
    for severity, table, description, expectation in outcome:
        name = f"{severity}_{table}"
        k = cursor.get(name, 0)
        cursor[name] = k + 1
        res = by_suite[name][k]
        detail = res.result or {}
        examples = _examples(detail, tables[table], index[table])
        row = {"severity": severity, "table": table, "expectation": expectation.expectation_type,
               "description": description, "success": bool(res.success),
               "unexpected_percent": detail.get("unexpected_percent"), "examples": examples}
        rows.append(row)
        if res.success:
            continue
        pct = detail.get("unexpected_percent")
        share = f"{pct:.1f}% of {detail.get('element_count', len(tables[table]))} rows fail" \
            if pct is not None else f"observed {detail.get('observed_value')}"
        line = f"{expectation.expectation_type} on {table} ({description}): {share}" + (
            f"; e.g. {', '.join(examples)}" if examples else "")
        (critical if severity == "critical" else warnings).append(line)
    summary = ValidationSummary(success=not critical, critical=critical, warnings=warnings,
                                docs_path=docs_path if docs_path.is_file() else None, results=rows)
    log.info("%s", summary)
    return summary


def _examples(detail: dict[str, Any], frame: Any, key: str, limit: int = 5) -> list[str]:
    """Example rows an expectation rejected, named by path (or class), with the value."""
    out = []
    for item in (detail.get("unexpected_index_list") or [])[:limit]:
        if isinstance(item, dict) and key in item:
            name = item[key]
            value = {k: v for k, v in item.items() if k != key}
            out.append(f"{name} ({', '.join(f'{k}={v}' for k, v in value.items())})" if value else str(name))
    if not out:
        out = [str(v) for v in (detail.get("partial_unexpected_list") or [])[:limit]]
    return out
