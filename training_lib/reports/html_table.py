"""The HTML building blocks every section of report.html uses: escaped tables, headings,
numbers."""
from __future__ import annotations

import html
from typing import Any, Iterable


class Raw(str):
    """Already-escaped HTML for a table cell."""


def table(headers: list[str], rows: Iterable[Iterable[Any]], highlight_last: bool = False) -> str:
    e = html.escape
    rows = list(rows)
    out = ["<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in headers) + "</tr>"]
    for i, row in enumerate(rows):
        css = " class='regression'" if highlight_last and i == len(rows) - 1 else ""
        cells = []
        for value in row:
            if isinstance(value, Raw):
                cells.append(f"<td>{value}</td>")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f"<td class='num'>{value}</td>")
            else:
                text = "" if value is None else str(value)
                numeric = text.replace(".", "", 1).replace("-", "", 1).replace("+", "", 1).isdigit()
                cells.append(f"<td{' class=num' if numeric else ''}>{e(text)}</td>")
        out.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    return "".join(out) + "</table>"


def section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>{body}"


def num(value: Any, digits: int = 4) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return ""
    return f"{value:.{digits}f}"
