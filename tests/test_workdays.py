"""Working days (工作日) on the official calendar through the real chinese-calendar package, with
a workspace's calendar.yaml for a year the package does not know and for local holidays; a date
outside both is refused, never counted as plain weekdays."""

from __future__ import annotations

import datetime as dt

import pytest

from workflow.engine.workdays import WorkdayCalendar
from workflow.errors import BadInput

D = dt.date.fromisoformat


@pytest.mark.parametrize("start, days, end, why", [
    ("2025-03-07", 5, "2025-03-14", "begins on a Friday: the weekend does not count"),
    ("2025-09-29", 5, "2025-10-13", "just before 国庆: 10月1日–8日 off, Saturday 10月11日 a 调休 workday"),
    ("2025-09-26", 5, "2025-10-10", "Sunday 9月28日 is a 调休 workday, then the holiday"),
    ("2025-09-30", 1, "2025-10-09", "the day after the last day before the holiday is after it"),
    ("2025-01-24", 3, "2025-02-05", "春节 2025: Sunday 1月26日 a 调休 workday, 1月28日–2月4日 off"),
    ("2025-03-07", 0, "2025-03-07", "no days: the same day"),
])
def test_a_period_of_working_days_ends_on_the_official_date(start, days, end, why):
    assert WorkdayCalendar().add(D(start), days) == D(end), why


def test_counting_matches_adding():
    calendar = WorkdayCalendar()
    assert calendar.count(D("2025-09-29"), D("2025-10-13")) == 5
    assert calendar.count(D("2025-10-01"), D("2025-10-08")) == 0
    assert calendar.count(D("2025-10-13"), D("2025-10-01")) == 0


def test_a_date_outside_the_known_calendar_is_refused_not_guessed(tmp_path):
    calendar = WorkdayCalendar.of_workspace(tmp_path)  # no calendar.yaml
    with pytest.raises(BadInput) as refused:
        calendar.add(D("2031-03-07"), 5)
    assert refused.value.reason == "calendar_unknown"
    assert "does not know 2031" in refused.value.message and "calendar.yaml" in refused.value.message


def test_a_local_file_covers_an_unknown_year_and_local_holidays(tmp_path):
    (tmp_path / "calendar.yaml").write_text(
        "years: [2031]\n"
        "holidays: [2031-10-01, 2031-10-02, 2031-10-03, 2025-03-10]   # 国庆 2031, and a local day off\n"
        "workdays: [2031-09-27]                                   # a 调休 Saturday\n", encoding="utf-8")
    calendar = WorkdayCalendar.of_workspace(tmp_path)
    assert calendar.add(D("2031-09-26"), 2) == D("2031-09-29")  # Saturday 9月27日 counts
    assert calendar.add(D("2031-09-30"), 1) == D("2031-10-06")  # 10月1日–3日 off, then the weekend
    assert calendar.add(D("2025-03-07"), 1) == D("2025-03-11")  # the local holiday on Monday 3月10日


@pytest.mark.parametrize("text, says", [
    ("years: 2031\n", "years must be a list"),
    ("holidays: [2031-02-30]\n", "is not a date"),
    ("years: [31]\n", "four-digit years"),
    ("holiday: []\n", "a mapping of years, holidays and workdays"),
    ("a: &a [1, *a]\n", "recursive alias"),
])
def test_a_bad_calendar_file_is_one_clear_line(tmp_path, text, says):
    (tmp_path / "calendar.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as refused:
        WorkdayCalendar.of_workspace(tmp_path)
    assert refused.value.reason == "bad_calendar" and says in refused.value.message, refused.value.message


def test_a_negative_period_is_refused():
    with pytest.raises(BadInput) as refused:
        WorkdayCalendar().add(D("2025-03-07"), -1)
    assert refused.value.reason == "bad_period"
