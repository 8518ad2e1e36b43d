"""Every item row against the fold of its events: the fields (each event's changes applied in
order), the numbers drawn, the state, and, for events that record them, the revision and the
title. A value edited in the items table feeds `show` and every later render, so the row must
be exactly what the history says."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit.eventlog import Problem, event_batches
from workflow.audit.eventlog import text as _text

NO_NUMBERS = '"numbers":{}'


def _loads(text: Any) -> Any:
    if isinstance(text, (dict, list)):  # a JSON column PostgreSQL's driver already parsed
        return text
    try:
        return json.loads(_text(text))
    except (TypeError, ValueError):
        return None


def check_items(connection: Connection, problems: list[Problem]) -> None:
    # item id -> [fields, numbers, to_state, (last data text, seq, event id)]; the log in id order,
    # which is each item's seq order; JSON parsed only where it can change something
    folded: dict[int, list[Any]] = {}
    for batch in event_batches(connection, "WHERE item_id IS NOT NULL",
                               columns="item_id, seq, changes, data, to_state, id"):
        for item_id, seq, changes_text, data_text, to_state, event_id in batch:
            item = folded.get(item_id)
            if item is None:
                item = folded[item_id] = [{}, {}, None, None]
            if changes_text != "{}":
                changes = _loads(changes_text)
                if isinstance(changes, dict):
                    for name, change in changes.items():
                        if isinstance(change, list) and len(change) == 2:
                            item[0][name] = change[1]
            data = _text(data_text)
            if NO_NUMBERS not in data and '"numbers"' in data:
                parsed = _loads(data)
                numbers = parsed.get("numbers") if isinstance(parsed, dict) else None
                if isinstance(numbers, dict):
                    item[1].update(numbers)
            item[2], item[3] = to_state, (data, seq, event_id)
    dbapi: Any = connection.connection.driver_connection
    cursor = dbapi.cursor()
    try:
        cursor.execute("SELECT id, key, fields, numbers, version, title FROM items ORDER BY id")
        for item_id, key, fields, numbers, version, title in cursor:
            found = folded.get(item_id)
            if found is not None:
                _compare(found, _text(key), _loads(fields), _loads(numbers), version, _text(title), problems)
    finally:
        cursor.close()


def _present(fields: Any) -> Any:
    return {k: v for k, v in fields.items() if v is not None} if isinstance(fields, dict) else fields


def _compare(item: list[Any], key: str, fields: Any, numbers: Any, version: Any, title: str,
             problems: list[Problem]) -> None:
    folded_fields, folded_numbers, _state, (data, seq, event_id) = item
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
