"""The official working-day calendar (工作日): statutory holidays and the 调休 make-up workdays,
from the `chinese-calendar` package (the State Council's notices, a year at a time), and a
workspace's own `calendar.yaml` for a year the package does not know yet and for local holidays:

    years: [2027]                      # years this file covers whole: weekdays are workdays but…
    holidays: [2027-01-01, 2027-10-01]  # …these days off (also local ones, in any year)
    workdays: [2027-09-26]             # …and these weekend days on (调休)

A date the package does not know and the file does not cover is an error (reason
calendar_unknown) when a period is counted over it: weekdays are never counted silently."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.errors import BadInput

FILE = "calendar.yaml"
MAX_DAYS = 3660  # a period spans at most ten years of days


@dataclass(frozen=True)
class WorkdayCalendar:
    years: frozenset[int] = frozenset()  # covered whole by the local file
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    source: str = FILE
    _known: dict[int, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of_workspace(cls, root: Path) -> WorkdayCalendar:
        path = Path(root) / FILE
        return cls.parse(path) if path.exists() else cls(source=str(path))

    @classmethod
    def parse(cls, path: Path) -> WorkdayCalendar:
        from workflow import inputs
        from workflow.definition import yamlsrc

        try:
            data = yamlsrc.load(inputs.read_regular_file(path, 1024 * 1024).decode("utf-8"), str(path)) or {}
        except UnicodeDecodeError:
            raise BadInput(f"{path}: not UTF-8 text", reason="bad_calendar") from None
        except ValueError as exc:
            raise BadInput(str(exc), reason="bad_calendar") from None
        if not isinstance(data, dict) or set(data) - {"years", "holidays", "workdays"}:
            raise BadInput(f"{path}: a mapping of years, holidays and workdays (lists)", reason="bad_calendar")
        years = _list(data, "years", path)
        if not all(isinstance(y, int) and not isinstance(y, bool) and 1900 < y < 2200 for y in years):
            raise BadInput(f"{path}: years are four-digit years", reason="bad_calendar")
        return cls(frozenset(years), frozenset(_dates(data, "holidays", path)),
                   frozenset(_dates(data, "workdays", path)), str(path))

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day.year in self.years:
            return day.weekday() < 5
        import chinese_calendar

        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise BadInput(f"the working-day calendar does not know {day.year} yet ({day.isoformat()}): add the "
                           f"year's holidays and 调休 workdays to {self.source}, or update chinese-calendar",
                           reason="calendar_unknown") from None

    def add(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (`start` itself not counted): a 公示 of 5 working
        days that begins on a Friday ends on the next Friday."""
        if days < 0:
            raise BadInput(f"a period of {days} working days: it must be 0 or more", reason="bad_period")
        day, left = start, days
        for _ in range(MAX_DAYS):
            if left == 0:
                return day
            day += dt.timedelta(days=1)
            left -= self.is_workday(day)
        raise BadInput(f"{days} working days from {start.isoformat()} is over ten years", reason="bad_period")

    def count(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when `end` is not after it)."""
        if (end - start).days > MAX_DAYS:
            raise BadInput(f"{start.isoformat()} to {end.isoformat()} is over ten years", reason="bad_period")
        return sum(self.is_workday(start + dt.timedelta(days=n)) for n in range(1, (end - start).days + 1))


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise BadInput(f"{path}: {key} must be a list", reason="bad_calendar")
    return value


def _dates(data: dict[str, Any], key: str, path: Path) -> list[dt.date]:
    found = []
    for value in _list(data, key, path):
        try:
            found.append(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            raise BadInput(f"{path}: {key}: {value!r} is not a date (YYYY-MM-DD)", reason="bad_calendar") from None
    return found
