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


Fold = dict[int, list[Any]]  # item id -> [fields, numbers], for items whose events changed either


def accumulate(fold: Fold, item_id: int, changes_text: Any, numbers_data: Any) -> None:
    """One event that changes fields (`changes_text` not empty) or draws numbers (`numbers_data`:
    its data, else None), in id order (each item's seq order), into a range's fold."""
    item = fold.get(item_id)
    if item is None:
        item = fold[item_id] = [{}, {}]
    if changes_text not in ("{}", b"{}"):
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


def merge(parts: list[Fold]) -> Fold:
    """The folds of consecutive id ranges, in order, as one fold of the whole log."""
    whole: Fold = {}
    for part in parts:
        for item_id, (fields, numbers) in part.items():
            item = whole.get(item_id)
            if item is None:
                whole[item_id] = [fields, numbers]
            else:
                item[0].update(fields)
                item[1].update(numbers)
    return whole


def version_title(data: Any) -> dict[str, Any]:
    """The revision and title an event's data records (either may be absent: older events)."""
    if data is None or (b'"version"' not in data and b'"title"' not in data if isinstance(data, bytes) else False):
        return {}
    found = _loads(data)
    return {k: found[k] for k in ("version", "title") if k in found} if isinstance(found, dict) else {}


PARALLEL_ITEMS = 20_000  # items; below this, forking for the item check gains little
_SHARED: tuple[Fold, dict[Any, tuple], dict[Any, dict[str, Any]]] | None = None  # for forked parts


def check_items(connection: Connection, folded: Fold, last: dict[Any, tuple], last_data: dict[Any, dict[str, Any]],
                problems: list[Problem], url: str | None = None, workers: int = 1) -> int:
    """Each item row against its events, in one pass over the items table: the state and key its
    last event left (`last`: item id -> (seq, to_state, key, event id)), the fields and numbers
    of the fold, and the revision and title its last event recorded (`last_data`); then the items
    the events name that are gone. With `url` and `workers` > 1, many items are checked in forked
    processes by id range (they inherit the fold). Returns the number of items."""
    global _SHARED
    parts: list[tuple[int, list[Problem], set[Any]]]
    if url is None or workers < 2 or len(last) < PARALLEL_ITEMS:
        parts = [_check_rows(connection, None, folded, last, last_data)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        low, high = connection.exec_driver_sql("SELECT min(id), max(id) FROM items").one()
        step = -(-(high - low + 1) // workers)
        bounds = [(a, min(a + step - 1, high)) for a in range(low, high + 1, step)]
        _SHARED = (folded, last, last_data)
        try:
            with ProcessPoolExecutor(len(bounds) - 1, mp_context=multiprocessing.get_context("fork")) as pool:
                futures = [pool.submit(_check_part, url, bound) for bound in bounds[:-1]]
                mine = _check_rows(connection, bounds[-1], folded, last, last_data)
                parts = [f.result() for f in futures] + [mine]
        finally:
            _SHARED = None
    ids: set[Any] = set()
    for _, found, part_ids in parts:
        problems.extend(found)
        ids |= part_ids
    for item_id in sorted(set(last) - ids - {None}, key=str):  # None: the @users stream (users, roles, keys, upgrades)
        problems.append(Problem("item_missing", "events name an item that is not in the database: the item "
                                "was deleted", _text(last[item_id][2])))
    return len(ids)


def _check_part(url: str, bounds: tuple[int, int]) -> tuple[int, list[Problem], set[Any]]:
    """A forked process's share of the items, on its own connection (the fold is inherited)."""
    from workflow.store.db import Database

    assert _SHARED is not None
    db = Database(url)
    try:
        with db.read() as session:
            return _check_rows(session.connection(), bounds, *_SHARED)
    finally:
        db.dispose()


def _check_rows(connection: Connection, bounds: tuple[int, int] | None, folded: Fold, last: dict[Any, tuple],
                last_data: dict[Any, dict[str, Any]]) -> tuple[int, list[Problem], set[Any]]:
    problems: list[Problem] = []
    dbapi: Any = connection.connection.driver_connection
    cursor = dbapi.cursor()  # DB-API rows: a tenth of the cost of Result rows
    empty: list[Any] = [{}, {}]
    ids = set()
    where = "WHERE id >= ? AND id <= ?" if bounds else ""
    if connection.dialect.paramstyle != "qmark":
        where = where.replace("?", "%s")
    try:
        cursor.execute(f"SELECT id, key, state, fields, numbers, version, title FROM items {where} ORDER BY id",
                       bounds or ())
        for item_id, key, state, fields, numbers, version, title in cursor:
            ids.add(item_id)
            final = last.get(item_id)
            if final is None:
                problems.append(Problem("item_without_events", "the item has no history", key))
                continue
            if _text(final[1]) != state:
                problems.append(Problem("item_state", f"the item is in {state!r} but its last event left it in "
                                        f"{_text(final[1])!r}: the state was changed outside the workflow", key))
            elif _text(final[2]) != key:
                problems.append(Problem("item_key", f"the item is called {key!r} but its events name "
                                        f"{_text(final[2])!r}: the key was changed outside the workflow", key))
            found = folded.get(item_id, empty)
            _compare(found, (key, final[0], final[3]), _loads(fields),
                     {} if numbers == "{}" and not found[1] else _loads(numbers), version, title,
                     last_data.get(item_id, {}), problems)
    finally:
        cursor.close()
    return len(ids), problems, ids


def _present(fields: Any) -> Any:
    return {k: v for k, v in fields.items() if v is not None} if isinstance(fields, dict) else fields


def _compare(item: list[Any], where: tuple, fields: Any, numbers: Any, version: Any, title: str,
             last: dict[str, Any], problems: list[Problem]) -> None:
    folded_fields, folded_numbers = item
    if _present(fields) != _present(folded_fields):  # an absent field and a null one read the same
        stored = fields if isinstance(fields, dict) else {}
        changed = sorted(k for k in set(folded_fields) | set(stored) if stored.get(k) != folded_fields.get(k))
        problems.append(Problem("item_fields", f"the item's fields differ from its history ({', '.join(changed)}): "
                                "they were changed outside the workflow", *where))
    if (numbers or {}) != folded_numbers:
        problems.append(Problem("item_numbers", "the item's numbers differ from those its events drew: "
                                "they were changed outside the workflow", *where))
    if "version" in last and last["version"] != version:
        problems.append(Problem("item_version", f"the item is at revision {version} but its last event left it "
                                f"at {last['version']}", *where))
    if "title" in last and last["title"] != title:
        problems.append(Problem("item_title", "the item's title differs from the one its last event recorded",
                                *where))
