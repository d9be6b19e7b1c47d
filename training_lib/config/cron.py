"""Validation of cron schedule strings, with messages that say which field is wrong.

Accepts the five-field form (minute hour day-of-month month day-of-week), with
`*`, lists, ranges, steps and month/day names, and Airflow's presets (@daily...).
An expression whose fields are each valid but that matches no date ("0 0 30 2 *",
30 February) is refused too: croniter, which Airflow schedules with, finds no next run.
"""
from __future__ import annotations

MACROS = frozenset({"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly",
                    "@quarterly", "@yearly", "@annually"})
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: i for i, name in enumerate(_DAYS)}),
)


def cron_error(expression: str) -> str | None:
    """Return why `expression` is not a valid schedule, or None when it is."""
    text = expression.strip()
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {text!r}; known: {', '.join(sorted(MACROS))}"
    parts = text.split()
    if len(parts) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
    for part, (label, low, high, names) in zip(parts, _FIELDS):
        for item in part.split(","):
            problem = _item_error(item, low, high, names)
            if problem:
                return f"{label} field {part!r}: {problem}"
    return _never_fires(text)


def _never_fires(text: str) -> str | None:
    import datetime as dt

    from croniter import CroniterBadCronError, CroniterBadDateError, croniter

    try:  # day 31 of a 30-day month etc.: croniter gives up after searching its horizon
        croniter(text, dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)).get_next(dt.datetime)
    except CroniterBadDateError:
        return "it matches no date of any year, so it would never run"
    except (CroniterBadCronError, ValueError) as e:
        return f"croniter refuses it ({e})"
    return None


def _item_error(item: str, low: int, high: int, names: dict[str, int]) -> str | None:
    body, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return f"step {step!r} is not a positive integer"
    if body == "*":
        return None
    bounds = body.split("-")
    if len(bounds) > 2 or not all(bounds):
        return f"{item!r} is not a number, a name or a range"
    values = []
    for bound in bounds:
        value = names.get(bound.lower()) if not bound.isdigit() else int(bound)
        if value is None:
            return f"{bound!r} is not a number" + (f" or one of {', '.join(names)}" if names else "")
        if not low <= value <= high:
            return f"{value} is outside {low}-{high}"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range {body!r} runs backwards"
    return None
