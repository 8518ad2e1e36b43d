"""Every item row against the fold of its events: the fields (each event's changes applied in
order), the numbers drawn, the state, and, for events that record them, the revision and the
title. A value edited in the items table feeds `show` and every later render, so the row must
be exactly what the history says."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit.eventlog import Problem
from workflow.audit.eventlog import text as _text


def _loads(text: Any) -> Any:
    if isinstance(text, (dict, list)):  # a JSON column PostgreSQL's driver already parsed
        return text
    try:
        return json.loads(_text(text))
    except (TypeError, ValueError):
        return None


Fold = dict[int, list[Any]]  # item id -> [fields, numbers, last seq, last event id]
NUMBERS_DATA = "CASE WHEN data LIKE '%\"numbers\":{\"%' THEN data END"  # the data of events that drew numbers


def accumulate(fold: Fold, item_id: int, seq: int, changes_text: str, numbers_data: str | None,
               event_id: int) -> None:
    """One event of the log, in id order (each item's seq order), into a range's fold: JSON is
    parsed only where it can change something (changes not empty, numbers drawn)."""
    item = fold.get(item_id)
    if item is None:
        item = fold[item_id] = [{}, {}, seq, event_id]
    if changes_text != "{}":
        changes = _loads(changes_text)
        if isinstance(changes, dict):
            for name, change in changes.items():
                if isinstance(change, list) and len(change) == 2:
                    item[0][name] = change[1]
    if numbers_data is not None:
        parsed = _loads(numbers_data)
        numbers = parsed.get("numbers") if isinstance(parsed, dict) else None
        if isinstance(numbers, dict):
            item[1].update(numbers)
    item[2], item[3] = seq, event_id


def merge(parts: list[Fold]) -> Fold:
    """The folds of consecutive id ranges, in order, as one fold of the whole log."""
    whole: Fold = {}
    for part in parts:
        for item_id, (fields, numbers, seq, event_id) in part.items():
            item = whole.get(item_id)
            if item is None:
                whole[item_id] = [fields, numbers, seq, event_id]
            else:
                item[0].update(fields)
                item[1].update(numbers)
                item[2], item[3] = seq, event_id
    return whole


def check_items(connection: Connection, folded: Fold, problems: list[Problem]) -> None:
    """Each item row against the fold of its events (and its last event's data)."""
    last_data: dict[Any, Any] = dict(connection.exec_driver_sql(
        "SELECT e.item_id, e.data FROM events e JOIN (SELECT max(id) AS id FROM events WHERE item_id IS NOT NULL "
        "GROUP BY item_id) m ON e.id = m.id").all())
    dbapi: Any = connection.connection.driver_connection
    cursor = dbapi.cursor()
    try:
        cursor.execute("SELECT id, key, fields, numbers, version, title FROM items ORDER BY id")
        for item_id, key, fields, numbers, version, title in cursor:
            found = folded.get(item_id)
            if found is not None:
                _compare(found, _text(key), _loads(fields), _loads(numbers), version, _text(title),
                         _text(last_data.get(item_id, "{}")), problems)
    finally:
        cursor.close()


def _present(fields: Any) -> Any:
    return {k: v for k, v in fields.items() if v is not None} if isinstance(fields, dict) else fields


def _compare(item: list[Any], key: str, fields: Any, numbers: Any, version: Any, title: str, data: str,
             problems: list[Problem]) -> None:
    folded_fields, folded_numbers, seq, event_id = item
    where = (key, seq, event_id)
    if _present(fields) != _present(folded_fields):  # an absent field and a null one read the same
        stored = fields if isinstance(fields, dict) else {}
        changed = sorted(k for k in set(folded_fields) | set(stored) if stored.get(k) != folded_fields.get(k))
        problems.append(Problem("item_fields", f"the item's fields differ from its history ({', '.join(changed)}): "
                                "they were changed outside the workflow", *where))
    if (numbers or {}) != folded_numbers:
        problems.append(Problem("item_numbers", "the item's numbers differ from those its events drew: "
                                "they were changed outside the workflow", *where))
    last = _loads(data) if '"version"' in data or '"title"' in data else None
    last = last if isinstance(last, dict) else {}
    if "version" in last and last["version"] != version:
        problems.append(Problem("item_version", f"the item is at revision {version} but its last event left it "
                                f"at {last['version']}", *where))
    if "title" in last and last["title"] != title:
        problems.append(Problem("item_title", "the item's title differs from the one its last event recorded",
                                *where))
