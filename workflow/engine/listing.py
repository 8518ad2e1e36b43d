"""`gongwen list`: one page of item summaries (LIMIT/OFFSET) with the total (one COUNT), as Core
rows of the columns shown, never ORM objects, with cyclic garbage collection off while the rows
become objects; and its search (`Search`): words in the title or any text of the form, a 发文字号
or other number, a date range, a school, and the order.

Fields and numbers are stored as JSON with non-ASCII escaped (\\uXXXX), so a text is looked for in
SQL in that form (a LIKE that finds every candidate), and each candidate's values are then checked
exactly here (a word that only matches a field's name, or spans two values, is no match)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, func, or_, select, type_coerce
from sqlalchemy import cast as sql_cast

from workflow.engine import registry, users, views, visibility
from workflow.errors import BadInput
from workflow.store.orm import Item

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from workflow.store.workspace import Workspace

# what an ItemSummary shows (views.summary) and the item's definition version, then its numbers as
# stored (JSON text on SQLite, parsed by json_value only when not "{}")
SUMMARY_COLUMNS = (Item.id, Item.key, Item.workflow_id, Item.definition_hash, Item.title, Item.state,
                   Item.version, Item.creator, Item.updated_at, Item.updated_by,
                   type_coerce(Item.numbers, Text).label("numbers"))


@contextlib.contextmanager
def bulk_scan() -> Iterator[None]:
    """No cyclic garbage collection while many rows become objects (it would run every few
    hundred allocations and walk them all each time); the previous setting is restored."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# -- list ------------------------------------------------------------------------------------------
class ItemPage(list[views.ItemSummary]):
    """A page of `gongwen list`: the summaries (a list, as Engine.list_items always returned),
    the number of items matching (`total`) and the page asked for (`limit` None: all)."""

    def __init__(self, items: Sequence[views.ItemSummary], total: int, limit: int | None, offset: int) -> None:
        super().__init__(items)
        self.total = total
        self.limit = limit
        self.offset = offset


def check_page(limit: int | None, offset: int) -> None:
    """BadInput bad_value for a limit below 1 or an offset below 0 (the command refuses them first)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BadInput(f"a page holds at least 1 item, not {limit!r}", reason="bad_value")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadInput(f"an offset is 0 or more, not {offset!r}", reason="bad_value")


def list_items(workspace: Workspace, login: str, workflow: str | None = None, state: str | None = None,
               mine: bool = False, limit: int | None = None, offset: int = 0,
               search: Search | None = None) -> tuple[list[views.ItemSummary], int]:
    """(the summaries of the items matching, in `search.sort` order (by id), `offset` of them
    skipped and at most `limit`; how many match in all). An unknown user is refused (unknown_user)."""
    check_page(limit, offset)
    search = search or Search()
    with workspace.db.read() as session:
        actor = users.actor(session, login)
        where: list[ColumnElement[bool]] = list(search.conditions(session.get_bind().dialect.name))
        where += visibility.visible(session, actor, now=workspace.now())
        if workflow:
            where.append(Item.workflow_id == workflow)
        if state:
            where.append(Item.state == state)
        if mine:
            where.append(Item.creator == actor.login)
        exact = search.exact  # text searches: SQL finds candidates, the values are then checked here
        paged = (limit is not None or offset > 0) and not exact
        total = int(session.scalar(select(func.count()).select_from(Item).where(*where)) or 0) if paged else -1
        if paged and offset >= total:
            return [], total
        columns = (*SUMMARY_COLUMNS, type_coerce(Item.fields, Text).label("fields")) if exact else SUMMARY_COLUMNS
        stmt = select(*columns).where(*where).order_by(*search.order())
        if paged and offset:
            stmt = stmt.offset(offset)
        if paged and limit is not None:
            stmt = stmt.limit(limit)
        found = []
        titles: dict[tuple[str, str], tuple[str, str]] = {}
        summary_of = views.ItemSummary
        with bulk_scan():
            for item_id, key, workflow_id, definition_hash, title, at, version, creator, updated_at, updated_by, \
                    numbers, *fields in session.connection().execute(stmt):
                numbers = json_value(numbers)
                if exact and not search.matches(title, json_value(fields[0]), numbers):
                    continue
                named = titles.get((definition_hash, at))
                if named is None:
                    definition = registry.pinned(session, definition_hash)
                    named = titles[(definition_hash, at)] = (definition.title, definition.state_title(at))
                found.append(summary_of(item_id, key, workflow_id, named[0], title, at, named[1], version, creator,
                                        updated_at, updated_by, numbers))
        if paged:
            return found, total
        total = len(found)
        return found[offset:offset + limit if limit is not None else None], total


def list_page(workspace: Workspace, login: str, workflow: str | None = None, state: str | None = None,
              mine: bool = False, limit: int | None = None, offset: int = 0,
              search: Search | None = None) -> ItemPage:
    """list_items as an ItemPage (what Engine.list_items returns)."""
    found, total = list_items(workspace, login, workflow, state, mine, limit, offset, search)
    return ItemPage(found, total, limit, offset)




def json_value(value: Any) -> Any:
    """A JSON column read as stored: text on SQLite (parsed here), already parsed by psycopg."""
    if isinstance(value, str):
        return {} if value == "{}" else json.loads(value)
    return {} if value is None else value


# -- search ------------------------------------------------------------------------------------------
SORTS = {"id": Item.id, "key": Item.key, "title": Item.title, "state": Item.state, "created": Item.created_at,
         "updated": Item.updated_at, "workflow": Item.workflow_id}
MAX_SEARCH = 200  # characters of a search text


@dataclass(frozen=True)
class Search:
    """What `gongwen list` looks for besides workflow, state and owner: `grep` in the title or any
    text of the form, `number` in any number drawn (发文字号, 证书编号 …), items created from
    `since` to `until` (dates, both included), `school` in the form's school field, and the order
    (`sort`: a column of SORTS, `-` first for descending; ties by id)."""

    grep: str | None = None
    number: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    school: str | None = None
    sort: str = "id"

    def __post_init__(self) -> None:
        for name in ("grep", "number", "school"):
            value = getattr(self, name)
            if value is not None and (not value.strip() or len(value) > MAX_SEARCH or not value.isprintable()):
                raise BadInput(f"--{name} takes a text of 1 to {MAX_SEARCH} printable characters, not {value!r}",
                               reason="bad_value")
        if self.sort.lstrip("-") not in SORTS:
            raise BadInput(f"--sort is one of {', '.join(SORTS)} (with - first for descending), not {self.sort!r}",
                           reason="bad_value")
        if self.since and self.until and self.since > self.until:
            raise BadInput(f"--from {self.since} is after --to {self.until}", reason="bad_value")

    @property
    def exact(self) -> bool:
        return bool(self.grep or self.number or self.school)

    def conditions(self, dialect: str) -> Iterator[ColumnElement[bool]]:
        def text(column: Any) -> Any:
            return type_coerce(column, Text) if dialect == "sqlite" else sql_cast(column, Text)

        if self.grep:
            yield or_(Item.title.like(_pattern(self.grep), escape="/"),
                      text(Item.fields).like(_pattern(_stored(self.grep)), escape="/"))
        if self.number:
            yield text(Item.numbers).like(_pattern(_stored(self.number)), escape="/")
        if self.school:
            yield text(Item.fields).like(_pattern(_stored(self.school)), escape="/")
        if self.since:
            yield Item.created_at >= self.since.isoformat()
        if self.until:
            yield Item.created_at < (self.until + dt.timedelta(days=1)).isoformat()

    def order(self) -> tuple[Any, ...]:
        column = SORTS[self.sort.lstrip("-")]
        if self.sort.startswith("-"):
            return (column.desc(), Item.id.desc())
        return (column, Item.id)

    def matches(self, title: str, fields: dict[str, Any], numbers: dict[str, Any]) -> bool:
        """The exact check of a candidate SQL found."""
        if self.grep and self.grep.casefold() not in title.casefold() \
                and not any(self.grep.casefold() in t.casefold() for t in _texts(fields)):
            return False
        if self.number and not any(self.number in t for t in _texts(numbers)):
            return False
        return not self.school or self.school in str(fields.get("school") or "")


def _stored(text: str) -> str:
    """A text as it appears inside a stored JSON string (json.dumps, non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def _pattern(text: str) -> str:
    """A LIKE pattern finding `text` anywhere (ESCAPE '/')."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _texts(value: Any) -> Iterator[str]:
    """Every text in a JSON value (its strings and numbers; not the keys)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)
    elif value is not None and not isinstance(value, bool):
        yield str(value)
