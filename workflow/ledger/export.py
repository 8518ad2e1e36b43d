"""`gongwen export ledger`: a workflow's items as the .xlsx ledger its clerks keep: Chinese headers,
a frozen header row, widths that fit Chinese text, dates as date cells, overdue rows filled.

Read through Core rows (as engine/reads.py does): the items' columns in one statement, the events
that the actor./date. columns need in one more, the users' names in one."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, select, type_coerce

from workflow import inputs
from workflow.definition.model import VOIDED, VOIDED_TITLE, Definition
from workflow.definition.names import state_filter
from workflow.engine import names, registry, users, visibility
from workflow.engine.listing import SUMMARY_COLUMNS, bulk_scan, json_value
from workflow.errors import BadInput, NotFound
from workflow.i18n import _
from workflow.ledger.columns import DATE_FORMAT, Ledger, column_width, ledger_of
from workflow.store.orm import Event, Item, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.store.workspace import Workspace

HEADER_FILL, OVERDUE_FILL = "D9E1F2", "FFC7CE"  # light blue; light red


def resolve_definition(workspace: Workspace, name: str) -> Definition:
    """The workspace's current definition of a workflow named by id or by its Chinese title."""
    inputs.check_text(name, "workflow", multiline=False, limit=inputs.MAX_KEY_CHARS)
    files = registry.definition_files(workspace.definitions_dir)
    found = names.workflow_id(workspace, name)  # the id, or the id of the one workflow so titled
    if found in {path.stem for path in files}:  # a file of the folder, never a path out of it
        return registry.current(workspace, found)
    known = ", ".join(path.stem for path in files)
    raise NotFound(_("unknown workflow {name!r} (known: {known})").format(name=name, known=known))


def resolve_state(definition: Definition, name: str | None) -> str | None:
    if name is None:
        return None
    found = state_filter([definition], name, definition.id)  # an id, or the one state so titled
    if found is not None:
        return found[1]
    if name in (VOIDED, VOIDED_TITLE):
        return VOIDED
    known = "、".join(f"{sid}（{st.title}）" for sid, st in definition.states.items())
    raise NotFound(_("{workflow} has no state {name!r} (states: {known})").format(
        workflow=definition.id, name=name, known=known), reason="unknown_state")


def export_ledger(workspace: Workspace, login: str, workflow: str, path: str | Path, year: int | None = None,
                  state: str | None = None) -> dict[str, Any]:
    """Write the ledger of `workflow` (its items, oldest first; only those created in `year`, or in
    `state`, when given) to `path` (.xlsx). Returns what was written."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise BadInput(_("{file}: a ledger is written as .xlsx").format(file=target), reason="bad_value")
    definition = resolve_definition(workspace, workflow)
    ledger = ledger_of(definition)
    state_id = resolve_state(definition, state)
    today = workspace.now().date()
    with workspace.db.read() as session:
        actor = users.actor(session, login)  # a known user (unknown_user otherwise)
        table = _table(session, ledger, state_id, year, visibility.visible(session, actor, now=workspace.now()))
    workbook, overdue = _workbook(ledger, table, today, workspace.now())
    buffer = io.BytesIO()
    workbook.save(buffer)
    inputs.write_all([(target, buffer.getvalue())])
    return {"workflow": definition.id, "ledger": ledger.sheet, "file": str(target), "rows": len(table),
            "items": len({row[0] for row in table}), "overdue": overdue}


def _table(session: Session, ledger: Ledger, state: str | None, year: int | None,
           visible: list[Any]) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """(item key, cell values, the row's record or fields) per row, in order."""
    where = [Item.workflow_id == ledger.definition.id, *visible]
    if state:
        where.append(Item.state == state)
    if year is not None:
        where += [Item.created_at >= f"{year:04d}-01-01", Item.created_at < f"{year + 1:04d}-01-01"]
    stmt = select(*SUMMARY_COLUMNS, type_coerce(Item.fields, Text).label("fields"), Item.created_at) \
        .where(*where).order_by(Item.id)
    wanted = {c.source.partition(".")[2] for c in ledger.columns if c.source.startswith(("actor.", "date."))}
    with bulk_scan():
        rows = session.connection().execute(stmt).all()
        last: dict[tuple[Any, str], tuple[str, str]] = {}
        if wanted and rows:
            ids = select(Item.id).where(*where)
            for item_id, transition, actor, time in session.connection().execute(
                    select(Event.item_id, Event.transition, Event.actor, Event.time)
                    .where(Event.item_id.in_(ids), Event.transition.in_(sorted(wanted)))
                    .order_by(Event.item_id, Event.seq)):
                last[(item_id, transition)] = (actor, time)
        names = dict(session.connection().execute(select(User.login, User.name)).all())
        table = []
        for item_id, key, _wf, definition_hash, title, at, _version, creator, updated_at, _by, numbers, fields, \
                created_at in rows:
            pinned = registry.pinned(session, definition_hash)
            item = {"key": key, "title": title, "state": pinned.state_title(at), "creator": names.get(creator, creator),
                    "created": _day(created_at), "updated": _day(updated_at)}
            values, numbers = json_value(fields), json_value(numbers)
            records = [values]
            if ledger.rows:
                records = [{**values, **{f"{ledger.rows}.{k}": v for k, v in r.items()}}
                           for r in values.get(ledger.rows) or []] or [values]
            for record in records:
                cells = [_cell(ledger, c.source, item, record, numbers, last, item_id, names) for c in ledger.columns]
                table.append((key, cells, record))
    return table


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def _cell(ledger: Ledger, source: str, item: dict[str, Any], record: dict[str, Any], numbers: dict[str, Any],
          last: dict[tuple[Any, str], tuple[str, str]], item_id: int, names: dict[str, str]) -> Any:
    if source in item:
        return item[source]
    kind, _, rest = source.partition(".")
    if kind == "number" and ledger.field(source) is None:
        return numbers.get(rest)
    if kind in ("actor", "date") and ledger.field(source) is None:
        found = last.get((item_id, rest))
        if found is None:
            return None
        return names.get(found[0], found[0]) if kind == "actor" else _day(found[1])
    spec = ledger.field(source)
    value = record.get(source)
    if spec is None or value is None or value == "":
        return None
    if spec.type == "date":
        return _day(value)
    if spec.type == "integer":
        return int(value)
    if spec.type == "decimal":
        return Decimal(str(value))
    if spec.type == "boolean":
        return "是" if value else "否"
    if spec.type == "choices" and isinstance(value, list):
        return "、".join(map(str, value))
    return str(value)


def overdue(ledger: Ledger, record: dict[str, Any], today: dt.date) -> bool:
    """Whether a row is overdue: its deadline passed and none of the values that end it is there."""
    spec = ledger.spec
    if not spec.overdue_date:
        return False
    due = _day(record.get(spec.overdue_date))
    if due is None or due >= today:
        return False
    return not any(str(record.get(source)) in values for source, values in spec.overdue_unless.items())


def _workbook(ledger: Ledger, table: list[tuple[str, list[Any], dict[str, Any]]], today: dt.date,
              now: dt.datetime) -> tuple[Any, int]:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.properties.creator = "gongwen"
    workbook.properties.created = workbook.properties.modified = now.replace(tzinfo=None, microsecond=0)
    sheet = workbook.active
    sheet.title = ledger.sheet
    headers = [c.label for c in ledger.columns]
    sheet.append(headers)
    bold, header_fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
    for cell in sheet[1]:
        cell.font, cell.fill = bold, header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    late_fill = PatternFill("solid", fgColor=OVERDUE_FILL)
    dates = [ledger.is_date(c.source) for c in ledger.columns]
    late = 0
    for number, (_key, cells, record) in enumerate(table, 2):
        is_late = overdue(ledger, record, today)
        late += is_late
        for index, value in enumerate(cells, 1):
            cell = sheet.cell(row=number, column=index, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
            if dates[index - 1]:
                cell.number_format = DATE_FORMAT
            if is_late:
                cell.fill = late_fill
    for index, header in enumerate(headers, 1):
        values = [cells[index - 1] for _key, cells, _record in table]
        sheet.column_dimensions[get_column_letter(index)].width = column_width(header, values)
    sheet.freeze_panes = "A2"
    if headers:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(table) + 1)}"
    return workbook, late
