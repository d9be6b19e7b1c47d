"""report.html's model sections: the results table (test metric, trivial baseline, the
classical reference, the lift over each, the registry's tag) and the likely mislabeled
training files."""
from __future__ import annotations

import html
from typing import Any

from training_lib.reports.html_table import Raw, num, section, table

BAD_TAGS = ("below_reference", "regressed", "rejected")  # shown in red
LABEL_ISSUES_SHOWN = 25


def results_section(report: dict[str, Any]) -> str:
    rows, below = [], []
    for model, r in sorted(report["evaluation"].items()):
        reg = report["registry"].get(model, {})
        if r.get("status") == "trained":
            tag = reg.get("tag", "")
            if tag == "below_reference":
                below.append(f"{model}: {reg.get('reason', '')}")
            rows.append([model, r.get("reused") or "trained", r.get("metric"), num(r.get("test")),
                         num(r.get("baseline")), _reference_cell(r), num(r.get("lift")),
                         _lift_cell(r.get("reference_lift")), reg.get("version", ""),
                         Raw(f"<span class='bad'>{html.escape(tag)}</span>")
                         if tag in BAD_TAGS else tag, ", ".join(reg.get("aliases") or [])])
        else:
            rows.append([model, r.get("status"), r.get("reason", "")] + [""] * 8)
    if not rows:
        return section("Results", "<p>No evaluation recorded (evaluate did not run).</p>")
    warning = "".join(f"<p class='bad'>Not promoted, below its classical reference: "
                      f"{html.escape(line)}</p>" for line in below)
    stops = "".join(
        f"<li>{html.escape(model)}: stopped after epoch {r['stopped_at_epoch']} of "
        f"{r.get('epoch_budget')}: {html.escape(r['stop_reason'])}</li>"
        for model, r in sorted(report["evaluation"].items()) if r.get("stop_reason"))
    warning += f"<p class='meta'>Training stopped:</p><ul>{stops}</ul>" if stops else ""
    note = ("<p class='meta'>reference: a classical scikit-learn model trained on the same "
            "train split and scored on the same test split; lift: test minus the trivial "
            "baseline; vs reference: test minus the reference.</p>")
    return section("Results", warning + table(
        ["model", "status", "metric", "test", "baseline", "reference", "lift", "vs reference",
         "version", "tag", "aliases"], rows) + note)


def _reference_cell(r: dict[str, Any]) -> Any:
    if r.get("reference") is None:
        return ""
    what = r.get("reference_model", "")
    seconds = r.get("reference_seconds")
    cost = f", {seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
    return Raw(f"{num(r['reference'])}<br><span class='meta'>{html.escape(what + cost)}</span>")


def _lift_cell(value: Any) -> Any:
    if not isinstance(value, (int, float)):
        return ""
    text = f"{value:+.4f}"
    return Raw(f"<span class='bad'>{text}</span>") if value < 0 else text


def label_issues_section(found: dict[str, Any]) -> str:
    """Per model: how many training files were flagged, by what, and the first of them."""
    if not found:
        return ("<p>No model of this run looked for mislabeled files (classifiers whose "
                "training rows are files do).</p>")
    parts = []
    for model, data in sorted(found.items()):
        parts.append(f"<p><b>{html.escape(model)}</b>: {data['n_flagged']} of "
                     f"{data['n_train']} training files flagged <span class='meta'>("
                     f"{html.escape(data['method'])})</span></p>")
        rows = [[", ".join(i.get("files") or []) or f"row {i.get('row')}", i["given"],
                 i["suggested"], num(i["confidence"], 3), num(i.get("given_probability"), 3)]
                for i in data["issues"][:LABEL_ISSUES_SHOWN]]
        if rows:
            parts.append(table(["file", "given label", "suggested", "confidence", "p(given)"],
                               rows))
        if len(data["issues"]) > LABEL_ISSUES_SHOWN:
            parts.append(f"<p class='meta'>... and {len(data['issues']) - LABEL_ISSUES_SHOWN} "
                         "more: <code>python -m training_lib label-issues RUN</code></p>")
    return "".join(parts)
