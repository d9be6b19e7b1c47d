"""report.html: one self-contained page (figures as data URIs, no external files) made from
the report dict of build.py. Every value shown is escaped."""
from __future__ import annotations

import base64
import datetime as dt
import html
import os
from pathlib import Path
from typing import Any

from training_lib.reports.html_results import label_issues_section, results_section
from training_lib.reports.html_table import Raw, num, section, table
from training_lib.reports.plots import SEVERITY_COLORS

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d1d1f;
  background:#fafafa}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px} .ok{color:#2e7d32} .bad{color:#c62828;font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.regression td{background:#ffebee} .sev{font-weight:600}
img.figure{display:block;margin:8px 0;border:1px solid #ddd;background:#fff}
ul{margin:4px 0 10px} code{font-size:12px}
"""

# records where each figure landed and its decoded size (read by the screenshot test)
SCRIPT = """
window.addEventListener('load', function () {
  var figures = Array.prototype.map.call(document.querySelectorAll('img.figure'), function (img) {
    var r = img.getBoundingClientRect();
    return {id: img.id, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
            x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width,
            height: r.height};
  });
  document.body.setAttribute('data-figures', JSON.stringify(figures));
});
"""

FIGURES = (("training_progress", "Training progress"),
           ("anomaly_detection_heatmap", "Anomalies per model and time window"),
           ("system_resources", "System resources"),
           ("run_trends", "This run against earlier runs"))


def render_html(report: dict[str, Any], figures: dict[str, Path], out_dir: Path) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{e(report['dag_id'])} / {e(report['run_id'])}</title>"
             f"<style>{CSS}</style><script>{SCRIPT}</script></head><body><main>"]
    parts.append(_header(report))
    parts.append(results_section(report))
    parts.append(section("Training progress", _figure(figures, "training_progress")))
    parts.append(section("Anomalies", _figure(figures, "anomaly_detection_heatmap")
                          + _anomalies(report["anomalies"]["events"])))
    parts.append(section("Faults", _faults(report["faults"], report["problems"])))
    parts.append(section("System resources", _figure(figures, "system_resources")
                          + _system(report["system"])))
    parts.append(section("Data quality", _data_quality(report, out_dir)))
    parts.append(section("Likely mislabeled", label_issues_section(report.get("label_issues")
                                                                     or {})))
    parts.append(section("Registry decisions", _registry(report["registry"])))
    if report["knowledge"]:
        parts.append(section("Collaborative rounds", _knowledge(report["knowledge"])))
    if report["incremental"]:
        parts.append(section("Incremental learning", _incremental(report["incremental"])))
    parts.append(section("Trends across runs of this preset",
                          _trends(report["trends"]) + _figure(figures, "run_trends")))
    parts.append(f"<p class='meta'>Generated {e(report['generated'])} from "
                 f"<code>{e(report['run_dir'])}</code>; every number above comes from that "
                 "run folder (and, for trends, the folders of earlier runs).</p>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _header(report: dict[str, Any]) -> str:
    e = html.escape
    problems = report["problems"]
    if report.get("failure"):  # run_problems puts "run failed at <task>: <cause>" first
        state = ("<span class='bad'>" + e(problems[0]) + "</span>"
                 + (" (also: " + e("; ".join(problems[1:])) + ")" if problems[1:] else ""))
    elif problems:
        state = "<span class='bad'>problems: " + e("; ".join(problems)) + "</span>"
    else:
        state = "<span class='ok'>every stage finished</span>"
    n_anomalies = len(report["anomalies"]["events"])
    parent = report["mlflow"].get("parent")
    return (f"<h1>{e(report['preset'])}: {e(report['run_id'])}</h1>"
            f"<div class='meta'>DAG <code>{e(report['dag_id'])}</code> &middot; {state} &middot; "
            f"{n_anomalies} anomal{'y' if n_anomalies == 1 else 'ies'} &middot; "
            f"{len(report['faults'])} fault record(s)"
            + (f" &middot; MLflow parent run <code>{e(parent)}</code>" if parent else "")
            + f"<br>{e(report['config'].get('description', ''))}</div>")


def _figure(figures: dict[str, Path], name: str) -> str:
    path = figures.get(name)
    label = dict(FIGURES)[name]
    if path is None or not path.exists():
        return f"<p class='meta'>{html.escape(label)}: nothing recorded to draw.</p>"
    data = path.read_bytes()
    width, height = _png_size(data)
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (f"<img class='figure' id='fig-{name}' alt='{html.escape(label)}' width='{width}' "
            f"height='{height}' src='{uri}'>")


def _anomalies(events: list[dict[str, Any]]) -> str:
    if not events:
        return "<p>No anomaly was detected in this run.</p>"
    rows = []
    for a in events:
        color = SEVERITY_COLORS.get(a.get("severity", ""), "#000")
        rows.append([_time(a.get("time")), a["model"], a.get("round", 1), a["step"], a["kind"],
                     Raw(f"<span class='sev' style='color:{color}'>"
                          f"{html.escape(a.get('severity', ''))}</span>"),
                     a.get("action"), a.get("outcome") or "", a.get("message", "")])
    return table(["time", "model", "round", "step", "kind", "severity", "action", "outcome",
                   "detail"], rows)


def _faults(faults: list[dict[str, Any]], problems: list[str]) -> str:
    if not faults and not problems:
        return "<p>No retries, rollbacks, injected faults or failures were recorded.</p>"
    rows = [[f.get("model") or "", f.get("round") or "", f["kind"], f["detail"]] for f in faults]
    rows += [["", "", "run", p] for p in problems]
    return table(["model", "round", "kind", "detail"], rows)


def _system(system: dict[str, Any]) -> str:
    rows = []
    for model, rounds in sorted(system.items()):
        for round_key, s in sorted(rounds.items()):
            gpus = "; ".join(
                f"GPU {i}: {g['util_mean']:.0f}% util, {g['mem_used_mb_max']:.0f} MB"
                + (f", {g['temp_c_max']} °C" if g.get("temp_c_max") is not None else "")
                for i, g in sorted(s["gpus"].items())) or "none"
            rows.append([model, round_key.removeprefix("round_"), s["samples"],
                         num(s["seconds"], 0), num(s["cpu_percent_mean"], 0),
                         num(s["cpu_percent_max"], 0), num(s["rss_mb_max"], 0),
                         f"{100 * s['memory_fraction_max']:.1f}%", num(s.get("written_mb"), 1),
                         gpus])
    if not rows:
        return "<p>No system samples were recorded.</p>"
    return table(["model", "round", "samples", "seconds", "CPU % mean", "CPU % max",
                   "RSS MB max", "host memory max", "written MB", "GPUs"], rows)


def _data_quality(report: dict[str, Any], out_dir: Path) -> str:
    e = html.escape
    scan, validation = report["scan"], report["validation"]
    parts = []
    if scan:
        parts.append(f"<p>{scan.get('files', 0)} files scanned in <code>"
                     f"{e(str(scan.get('data_root', '')))}</code> ({scan.get('new', 0)} new, "
                     f"{scan.get('changed', 0)} changed, {scan.get('deleted', 0)} deleted, "
                     f"{scan.get('unchanged', 0)} unchanged); fingerprint "
                     f"<code>{e(str(scan.get('fingerprint', ''))[:16])}</code>.</p>")
        parts.append(table(["file type", "files"], sorted((scan.get("by_type") or {}).items())))
        if scan.get("flags"):
            parts.append(table(["quality flag", "files"], sorted(scan["flags"].items())))
    if validation:
        ok = validation.get("success")
        parts.append(f"<p>Great Expectations: <span class='{'ok' if ok else 'bad'}'>"
                     f"{'passed' if ok else 'failed'}</span>, "
                     f"{len(validation.get('critical') or [])} critical, "
                     f"{len(validation.get('warnings') or [])} warnings.</p>")
        items = [*(validation.get("critical") or []), *(validation.get("warnings") or [])]
        if items:
            parts.append("<ul>" + "".join(f"<li>{e(w)}</li>" for w in items) + "</ul>")
    parts.append(_labels(report.get("routing") or {}))
    docs = report.get("data_docs")
    if docs:
        relative = os.path.relpath(docs, out_dir)
        parts.append(f"<p>Data Docs: <a href='{e(relative)}'>{e(relative)}</a> "
                     f"(<code>{e(docs)}</code>)</p>")
    return "".join(parts) or "<p>No scan or validation was recorded.</p>"


def _labels(routing: dict[str, Any]) -> str:
    """The label set of each folder routing used, and the classes it dropped per model."""
    groups = [g for g in routing.get("labels") or [] if g.get("classes")]
    parts = []
    if groups:
        rows = [[g["folder"], g.get("source", ""), g.get("type") or "",
                 ", ".join(f"{k} ({n})" for k, n in sorted(g["classes"].items()))]
                for g in groups]
        parts.append(table(["folder", "labels from", "type", "classes (files)"], rows))
    dropped = routing.get("dropped_classes") or {}
    if dropped:
        rows = [[model, label, len(paths), ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")]
                for model, classes in sorted(dropped.items())
                for label, paths in sorted(classes.items())]
        parts.append("<p>Classes dropped from training (fewer than <code>min_class_files</code> "
                     "files):</p>" + table(["model", "class", "files", "paths"], rows))
    return "".join(parts)


def _registry(registry: dict[str, Any]) -> str:
    if not registry:
        return "<p>No registry decisions were recorded.</p>"
    rows = [[model, d.get("version") or "none", d.get("tag", ""), ", ".join(d.get("aliases") or []),
             d.get("champion_before") or "", d.get("reason", "")]
            for model, d in sorted(registry.items())]
    html = table(["model", "version", "tag", "aliases", "champion before", "reason"], rows)
    moves = [[model, m["time"] + (" (noticed)" if m.get("noticed") else ""), m["who"],
              m["action"], m["alias"], f"v{m['from']}" if m["from"] else "none",
              f"v{m['to']}" if m["to"] else "none", m["why"]]
             for model, d in sorted(registry.items()) for m in d.get("alias_history") or []]
    if moves:
        html += ("<p>Latest alias moves (full history: <code>python -m training_lib history "
                  "MODEL</code>; a hand edit in the MLflow UI carries the time it was "
                  "noticed):</p>" + table(["model", "time (UTC)", "who", "action", "alias",
                                            "from", "to", "why"], moves))
    return html


def _knowledge(knowledge: list[dict[str, Any]]) -> str:
    rows = []
    for k in knowledge:
        rest = {key: v for key, v in k.items() if key not in ("round", "finished",
                                                              "skipped_failed")}
        rows.append([k["round"], ", ".join(k.get("finished") or []),
                     ", ".join(k.get("skipped_failed") or []),
                     "; ".join(f"{key}: {_short(v)}" for key, v in sorted(rest.items()))])
    return table(["round", "finished", "skipped or failed", "shared knowledge"], rows)


def _incremental(incremental: dict[str, Any]) -> str:
    """What each model's new data was measured against, then champion (before) and
    fine-tuned candidate (after) on the same old-data and new-data test rows: 95%
    intervals, the paired test's p-value and the guard's verdict."""
    detection = incremental["detection"]
    parts = [f"<p>{html.escape(str(detection.get('message', '')))}</p>"]
    found = detection.get("models") or {}
    if found:
        parts.append(table(["model", "new files", "not judged yet", "baseline / why skipped"],
                            [[m, e.get("new_files", ""), e.get("not_yet_judged", ""),
                              e["reason"] if e.get("skip") else e.get("note", "")]
                             for m, e in sorted(found.items())]))
    rows = []
    for model, info in sorted(incremental["models"].items()):
        record = info.get("record") or {}
        verdict = info.get("verdict") or ("" if info["mode"] != "finetune" else
                                          "accepted" if info.get("accepted") else "rejected")
        counts = info.get("counts") or {}
        row = [model, verdict, info.get("champion_version", "")]
        for side in ("new", "old"):
            c = record.get(side)
            row += ([c["n"], _with_ci(c["metric_a"], c["ci_a"]), _with_ci(c["metric_b"], c["ci_b"]),
                     f"{c['p_value']:.4g} ({c['test']})"] if c else
                    [counts.get(f"{side}_test", ""), num((info.get("before") or {}).get(side)),
                     num((info.get("after") or {}).get(side)), ""])
        rows.append(row + [info.get("reason", "")])
    if rows:
        parts.append(table(["model", "verdict", "champion", "new rows", "new: champion [95% CI]",
                             "new: candidate [95% CI]", "new: p", "old rows",
                             "old: champion [95% CI]", "old: candidate [95% CI]", "old: p",
                             "decision record"], rows))
    return "".join(parts)


def _with_ci(value: float, ci: list[float]) -> str:
    return f"{num(value)} [{num(ci[0])}, {num(ci[1])}]"


def _trends(trends: dict[str, Any]) -> str:
    runs = trends["runs"]
    basis = f"<p class='meta'>{html.escape(trends['basis'])}.</p>" if trends.get("basis") else ""
    excluded = trends.get("excluded") or []
    if excluded:
        basis += ("<details><summary class='meta'>Earlier runs left out of the comparison "
                  f"({len(excluded)})</summary>"
                  + table(["run", "started", "why"],
                           [[x["run_id"], _time(x.get("started")), x["reason"]]
                            for x in excluded]) + "</details>")
    if len(runs) < 2:
        return basis + "<p>No comparable earlier run of this preset: nothing to compare with.</p>"
    models = sorted({m for r in runs for m in r["models"]})
    headers = ["run", "started", "pipeline s", "files", "data MB"]
    for m in models:
        headers += [f"{m} test", f"{m} samples/s"]
    rows = []
    for i, r in enumerate(runs):
        row: list[Any] = [("this run: " if i == len(runs) - 1 else "") + r["run_id"],
                          _time(r["started"]), num(r.get("pipeline_s"), 0), r.get("files") or "",
                          num(r.get("data_mb"), 1)]
        for m in models:
            x = r["models"].get(m, {})
            row += [num(x.get("test")), num(x.get("samples_per_second"), 0)]
        rows.append(row)
    flagged = trends["regressions"]
    summary = ("<p class='bad'>Regressions against the median of earlier runs:</p><ul>"
               + "".join(f"<li>{html.escape(r['text'])}</li>" for r in flagged) + "</ul>"
               if flagged else "<p class='ok'>No regression against the median of earlier "
               "runs (test metric within 0.02, samples/s above 80%, durations below 125%).</p>")
    return basis + summary + table(headers, rows, highlight_last=bool(flagged))


def _time(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
