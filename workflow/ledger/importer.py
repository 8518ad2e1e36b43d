"""`gongwen import`: items created from a ledger sheet (xlsx_checks.py reads it), every row checked
against the field schema first; nothing is created unless every row is valid.

Columns are found by header: a ledger column's Chinese header, a field's label, or a --set key
(`issue_date`, `findings.deadline`). What the workflow assigns (编号, state, numbers, who and when)
is read but not set: a new item starts in the workflow's initial state. With `rows:` (整改台账),
rows of one 编号 make one item, a record each.

Nothing twice: the create event's comment (signed, in the hash chain) records the file's sha256,
the row and the 编号 it came from. A row is skipped when its 编号 is an item of this workflow with
the same title, or was imported before; a row without 编号, when the same file's same row was.

Each item is created in a transaction of its own (Engine.create): the engine has no call that
creates many in one. So everything that can refuse is checked before the first create (values,
the actor, their role and unit, their signing key); should a create still fail midway (the disk,
the database), the error says which were created, and running the same import again creates only
the rest."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow import inputs
from workflow.definition.fields import Field, check_item_size
from workflow.definition.model import CREATE, Definition
from workflow.engine import guards, users
from workflow.errors import BadInput, Refused
from workflow.i18n import _
from workflow.ledger.columns import Ledger, is_writable, ledger_of
from workflow.ledger.export import resolve_definition
from workflow.ledger.xlsx_checks import Sheet, cell_ref, read_sheet
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from workflow.identity.keyring import KeyRing
    from workflow.store.workspace import Workspace

MARKER = "台账导入"
_MARK = re.compile(r"sha256:([0-9a-f]{64}) 第(\d+)行(?: 源编号:(\S+))?")


@dataclass
class Planned:
    row: int  # the first row of the item
    source_key: str  # its 编号 in the sheet, or ""
    title: str | None
    values: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""  # why nothing is created for it ("" : created)


class Problems(list[str]):
    def raise_first(self) -> None:
        if self:
            more = "" if len(self) == 1 else (_(" (and 1 more problem)") if len(self) == 2 else
                                              _(" (and {n} more problems)").format(n=len(self) - 1))
            raise BadInput(self[0] + more, reason="bad_row", problems=list(self[:100]))


def import_ledger(workspace: Workspace, keys: KeyRing, login: str, workflow: str, path: str | Path,
                  dry_run: bool = False) -> dict[str, Any]:
    """Create the items of the sheet at `path` as `login` (or, with dry_run, only check)."""
    definition = resolve_definition(workspace, workflow)
    ledger = ledger_of(definition)
    sheet = read_sheet(path, ledger.sheet)
    columns = _columns(sheet, ledger)
    planned = _plan(sheet, ledger, columns)
    with workspace.db.read() as session:
        actor = users.actor(session, login)
        _check_actor(definition, actor, planned, sheet)
        _mark_done(session, definition, planned, sheet)
    todo = [p for p in planned if not p.skipped]
    created: list[dict[str, Any]] = []
    if not dry_run and todo:
        from workflow.engine.engine import Engine

        keys.signer(login)  # a missing key or passphrase: refused before anything is created
        engine = Engine(workspace, keys)
        views = engine.create_many(login, definition.id,
                                   [(item.title, item.values, (), _marker(sheet, item)) for item in todo])
        created = [{"row": item.row, "key": view.key, "title": view.title} for item, view in zip(todo, views)]
    return {"workflow": definition.id, "file": str(path), "sheet": sheet.name, "sha256": sheet.sha256,
            "dry_run": dry_run, "rows": len(sheet.rows),
            "created": created if not dry_run else [],
            "would_create": [{"row": p.row, "title": p.title or definition.title_for(p.values)} for p in todo]
            if dry_run else [],
            "skipped": [{"row": p.row, "key": p.source_key, "reason": p.skipped} for p in planned if p.skipped]}


def _columns(sheet: Sheet, ledger: Ledger) -> dict[int, str]:
    """{column number: source} for the header; an unknown or repeated header is refused."""
    known: dict[str, str] = {}
    definition = ledger.definition
    for name, spec in definition.fields.items():
        if spec.type != "list":
            known.setdefault(name, name)
            known.setdefault(spec.label, name)
        elif name == ledger.rows:
            for sub_name, sub in spec.record.items():
                known.setdefault(f"{name}.{sub_name}", f"{name}.{sub_name}")
                known.setdefault(sub.label, f"{name}.{sub_name}")
    for column in ledger.columns:
        known[column.label] = column.source
        known[column.source] = column.source
    found: dict[int, str] = {}
    problems = Problems()
    for number, header in sheet.header.items():
        source = known.get(header)
        where = f"{sheet.name}!{cell_ref(1, number)}"
        if source is None:
            problems.append(_("{where}: unknown column {header!r} (a header of the {ledger}, a field's label or its "
                              "--set key)").format(where=where, header=header, ledger=ledger.sheet))
        elif source in found.values():
            problems.append(_("{where}: column {header!r} appears twice").format(where=where, header=header))
        else:
            found[number] = source
    problems.raise_first()
    return found


def _cell_value(value: Any, spec: Field) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if spec.type == "date" or value.time() == dt.time() else value.isoformat(" ")
    if spec.type == "text" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _parse(spec: Field, value: Any, where: str, problems: Problems) -> Any:
    try:
        return spec.parse(_cell_value(value, spec), where)
    except BadInput as exc:
        said = exc.message.split("): ", 1)[-1]
        if said.endswith(f"is not a valid {spec.type}"):
            kinds = {"date": _("a date"), "integer": _("a whole number"), "decimal": _("a number"),
                     "boolean": _("是 or 否")}
            said = _('"{value}" is not {kind}').format(value=value, kind=kinds.get(spec.type, spec.type))
        problems.append(f"{where}: {spec.label} {said}")
        return None


def _plan(sheet: Sheet, ledger: Ledger, columns: dict[int, str]) -> list[Planned]:
    definition = ledger.definition
    problems = Problems()
    by_key: dict[str, Planned] = {}
    planned: list[Planned] = []
    key_column = next((n for n, s in columns.items() if s == "key"), None)
    for row, cells in sheet.rows:
        source_key = str(cells.get(key_column, "") if key_column else "").strip()
        where = {n: f"{sheet.name}!{cell_ref(row, n)}" for n in columns}
        title: str | None = None
        values: dict[str, Any] = {}
        record: dict[str, Any] = {}
        for number, source in columns.items():
            value = cells.get(number)
            if value is None or not is_writable(source, ledger):
                continue
            if source == "title":
                text = str(value)
                problem = inputs.text_problem(text, multiline=False)
                if problem:
                    problems.append(f"{where[number]}: 标题 {problem}")
                title = text
                continue
            spec = ledger.field(source)
            assert spec is not None
            parsed = _parse(spec, value, where[number], problems)
            if parsed is not None:
                (record if "." in source else values)[source.partition(".")[2] or source] = parsed
        earlier = by_key.get(source_key) if source_key else None
        if earlier is not None and not ledger.rows:
            problems.append(_("{where}: 编号 {key} again (row {row})").format(
                where=f"{sheet.name}!{cell_ref(row, key_column or 1)}", key=source_key, row=earlier.row))
            continue
        if earlier is not None:  # one more record of the same item: its item columns agree
            for name, value in values.items():
                if earlier.values.get(name) != value:
                    number = next(n for n, s in columns.items() if s == name)
                    problems.append(_("{where}: {label} differs from row {row} of 编号 {key}").format(
                        where=where[number], label=definition.fields[name].label, row=earlier.row, key=source_key))
            item = earlier
        else:
            item = Planned(row=row, source_key=source_key, title=title, values=values)
            planned.append(item)
            if source_key:
                by_key[source_key] = item
        if ledger.rows and record:
            _add_record(ledger, item, record, row, sheet, columns, problems)
    for item in planned:
        if ledger.rows and item.values.get(ledger.rows):
            try:
                item.values[ledger.rows] = definition.fields[ledger.rows].parse(item.values[ledger.rows])
            except BadInput as exc:
                problems.append(f"{sheet.name}!{item.row}: {exc.message}")
        try:
            check_item_size(item.values)
        except BadInput as exc:
            problems.append(f"{sheet.name}!{item.row}: {exc.message}")
        if item.title and item.title == definition.title_for(item.values):
            item.title = None  # the title the fields give: kept in step with them
    problems.raise_first()
    return planned


def _add_record(ledger: Ledger, item: Planned, record: dict[str, Any], row: int, sheet: Sheet,
                columns: dict[int, str], problems: Problems) -> None:
    assert ledger.rows
    spec = ledger.definition.fields[ledger.rows]
    for sub_name, sub in spec.record.items():
        if sub.required and record.get(sub_name) is None:
            number = next((n for n, s in columns.items() if s == f"{ledger.rows}.{sub_name}"), None)
            at = cell_ref(row, number) if number else str(row)
            problems.append(_("{where}: {label} is required ({list})").format(
                where=f"{sheet.name}!{at}", label=sub.label, list=spec.label))
    item.values.setdefault(ledger.rows, []).append(record)


def _check_actor(definition: Definition, actor: guards.Actor, planned: list[Planned], sheet: Sheet) -> None:
    """What Engine.create would refuse for the actor, before anything is created."""
    if definition.creators and not set(actor.roles) & set(definition.creators):
        wanted = "、".join(f"{r}（{definition.role_title(r)}）" for r in definition.creators)
        raise Refused(_("{login} may not create a {workflow} ({title}): needs one of {wanted}").format(
            login=actor.login, workflow=definition.id, title=definition.title, wanted=wanted),
            reason="role_missing", transition=CREATE)
    for item in planned:
        if refusal := guards.unit_refusal(definition, CREATE, actor, item.values):
            raise Refused(f"{sheet.name}!{item.row}: {refusal.message}", reason=refusal.reason, transition=CREATE)


def _mark_done(session: Any, definition: Definition, planned: list[Planned], sheet: Sheet) -> None:
    """Mark the rows already here: an item of this workflow with the 编号 and title, or imported."""
    keys = [p.source_key for p in planned if p.source_key]
    here: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        here.update(session.execute(select(Item.key, Item.title).where(
            Item.workflow_id == definition.id, Item.key.in_(keys[start:start + 500]))).all())
    rows, imported = set(), set()
    for (comment,) in session.execute(select(Event.comment).join(Item, Item.id == Event.item_id).where(
            Item.workflow_id == definition.id, Event.transition == CREATE, Event.comment.like(f"{MARKER}%"))):
        if match := _MARK.search(comment or ""):
            rows.add((match.group(1), int(match.group(2))))
            if match.group(3):
                imported.add(match.group(3))
    for item in planned:
        title = item.title or definition.title_for(item.values)
        if item.source_key and here.get(item.source_key) == title:
            item.skipped = "exists"
        elif item.source_key in imported or (sheet.sha256, item.row) in rows:
            item.skipped = "imported"


def _marker(sheet: Sheet, item: Planned) -> str:
    name = sheet.file_name if inputs.text_problem(sheet.file_name, multiline=False, limit=400) is None else "xlsx"
    return f"{MARKER}：{name} sha256:{sheet.sha256} 第{item.row}行" + (
        f" 源编号:{item.source_key}" if item.source_key and " " not in item.source_key else "")
