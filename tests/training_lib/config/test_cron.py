"""Cron schedules: malformed fields and expressions that match no date are refused."""
from __future__ import annotations

import pytest

from training_lib.config.cron import cron_error


@pytest.mark.parametrize("expr", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *",
                                  "0 12 30-31 feb *"])
def test_an_expression_matching_no_date_is_refused(expr):
    assert cron_error(expr) == "it matches no date of any year, so it would never run"


@pytest.mark.parametrize("expr", ["0 0 29 2 *",  # leap years only, but it fires
                                  "0 0 30 2 mon",  # day-of-month OR day-of-week
                                  "0 0 31 * *", "0 2 * * *", "*/15 9-17 * * mon-fri",
                                  "@daily"])
def test_rare_but_possible_expressions_are_accepted(expr):
    assert cron_error(expr) is None
