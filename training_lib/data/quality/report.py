"""The scan's HTML quality report and plain-text summary (what `scan` prints and saves)."""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from training_lib.data.quality.scores import FLAGS
from training_lib.data.records import shown
from training_lib.config import model_specs as models

if TYPE_CHECKING:
    from training_lib.data.scan.scanner import ScanReport


def files_per_model(report: "ScanReport", floor: float = 0.5) -> dict[str, int]:
    """Files at or above `floor` whose type (or JSON record format) a built-in model consumes.
    A first look only: routing applies the preset's selectors and sample minimums."""
    kinds = Counter()
    for r in report.records:
        if r.score < floor:
            continue
        kinds[r.type] += 1
        if r.meta.get("record_format"):
            kinds[f"records:{r.meta['record_format']}"] += 1
    return {name: sum(kinds[k] for k in spec.consumes) for name, spec in models.MODELS.items()}


def summary_text(report: "ScanReport", floor: float = 0.5) -> str:
    lines = [f"{shown(str(report.root))}: {len(report.records)} files in {report.elapsed_s:.2f} s "
             f"({report.inspected} read; {len(report.new)} new, {len(report.changed)} changed, "
             f"{len(report.deleted)} deleted, {report.unchanged} unchanged)",
             f"fingerprint {report.fingerprint}", "", f"{'type':<10} {'files':>7} {'usable':>7}"]
    usable = Counter(r.type for r in report.records if r.score >= floor)
    for type_, n in report.counts_by_type().items():
        lines.append(f"{type_:<10} {n:>7} {usable[type_]:>7}")
    flags = report.flag_counts()
    if flags:
        lines += ["", f"{'flag':<18} {'files':>7}  meaning"]
        lines += [f"{flag:<18} {n:>7}  {FLAGS.get(flag, (0, ''))[1]}" for flag, n in flags.items()]
    lines += ["", f"{'model':<30} {'files':>7}   (usable files of the types it consumes)"]
    lines += [f"{name:<30} {n:>7}" for name, n in files_per_model(report, floor).items()]
    if report.skipped:
        lines += ["", "not followed:"] + [f"  {shown(path)}: {shown(reason)}"
                                          for path, reason in report.skipped]
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}
.bad{color:#a00}.num{text-align:right}code{font-size:90%}"""


def write_html(report: "ScanReport", path: Path, floor: float = 0.5) -> Path:
    """A self-contained HTML page: counts, flags with meanings, every flagged file."""
    def esc(text: str) -> str:  # names that are not UTF-8 are shown as \xff
        return html.escape(shown(text))

    usable = Counter(r.type for r in report.records if r.score >= floor)
    parts = [f"<!doctype html><meta charset='utf-8'><title>Scan of {esc(str(report.root))}</title>"
             f"<style>{_CSS}</style><h1>Data quality: {esc(str(report.root))}</h1>",
             f"<p>{len(report.records)} files, {report.inspected} read in this scan "
             f"({len(report.new)} new, {len(report.changed)} changed, {len(report.deleted)} deleted) "
             f"in {report.elapsed_s:.2f} s. Dataset fingerprint <code>{report.fingerprint}</code>. "
             f"Usable = quality score &ge; {floor}.</p>",
             "<h2>Files by type</h2><table><tr><th>type</th><th>files</th><th>usable</th></tr>"]
    for type_, n in report.counts_by_type().items():
        parts.append(f"<tr><td>{esc(type_)}</td><td class=num>{n}</td><td class=num>{usable[type_]}</td></tr>")
    parts.append("</table><h2>Flags</h2><table><tr><th>flag</th><th>files</th><th>score factor</th>"
                 "<th>meaning</th></tr>")
    for flag, n in report.flag_counts().items():
        factor, meaning = FLAGS.get(flag, (0.5, ""))
        parts.append(f"<tr><td>{esc(flag)}</td><td class=num>{n}</td><td class=num>{factor}</td>"
                     f"<td>{esc(meaning)}</td></tr>")
    parts.append("</table><h2>Files each model could use</h2><table><tr><th>model</th><th>consumes</th>"
                 "<th>usable files</th></tr>")
    for name, n in files_per_model(report, floor).items():
        parts.append(f"<tr><td>{esc(name)}</td><td>{esc(', '.join(models.MODELS[name].consumes))}</td>"
                     f"<td class=num>{n}</td></tr>")
    flagged = sorted(report.flagged(), key=lambda r: (r.score, r.path))
    parts.append(f"</table><h2>Flagged files ({len(flagged)})</h2><table><tr><th>path</th><th>type</th>"
                 "<th>format</th><th>label</th><th>score</th><th>flags</th><th>details</th></tr>")
    for r in flagged:
        details = {k: v for k, v in r.meta.items()
                   if k not in ("phash", "phash_frames", "text_key", "split_key")}
        parts.append(f"<tr><td><code>{esc(r.path)}</code></td><td>{esc(r.type)}</td><td>{esc(r.format)}</td>"
                     f"<td>{esc(r.label or '')}</td><td class='num{' bad' if r.score < floor else ''}'>"
                     f"{r.score:.2f}</td><td>{esc(', '.join(r.flags))}</td>"
                     f"<td><code>{esc(json.dumps(details, default=str)[:300])}</code></td></tr>")
    parts.append("</table>")
    if report.skipped:
        parts.append("<h2>Not followed</h2><table><tr><th>path</th><th>reason</th></tr>")
        parts += [f"<tr><td><code>{esc(p)}</code></td><td>{esc(reason)}</td></tr>" for p, reason in report.skipped]
        parts.append("</table>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
