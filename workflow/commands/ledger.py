"""Ledger commands: `export ledger` (the Excel 台账) and `import` (items from such a sheet)."""

from __future__ import annotations

from typing import Any

import click

from workflow.commands.app import App
from workflow.i18n import _


@click.group("export")
def export() -> None:
    """Export what clerks keep outside gongwen (the Excel 台账)."""


@export.command("ledger")
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option("-o", "--output", required=True, metavar="FILE.xlsx", help="The workbook to write (replaced if there).")
@click.option("--year", type=click.IntRange(1900, 9999), help="Only items created in this year.")
@click.option("--state", help="Only items in this state (id or Chinese title).")
@click.pass_obj
def ledger(app: App, workflow_id: str, output: str, year: int | None, state: str | None) -> None:
    """Write WORKFLOW's ledger as .xlsx: 发文登记簿 (plan), 整改台账 (inspection, a row per
    finding, overdue rows highlighted), 认定名册 (clean_school), or one derived from the fields
    of any other workflow. Chinese headers, one row per item, voided items included."""
    from workflow.commands.progress import progress
    from workflow.ledger.export import export_ledger

    with progress(app, _("exporting the ledger"), None):
        result = export_ledger(app.workspace, app.login, workflow_id, output, year, state)
    app.emit(result, _("{file}: {ledger}, {rows} rows ({items} items, {overdue} overdue)").format(**result))


@click.command("import")
@click.argument("workflow_id", metavar="WORKFLOW")
@click.argument("file", metavar="FILE.xlsx")
@click.option("--dry-run", is_flag=True, help="Only check every row and say what would be created.")
@click.pass_obj
def import_items(app: App, workflow_id: str, file: str, dry_run: bool) -> None:
    """Create items of WORKFLOW from the rows of FILE.xlsx, in their initial state (drafts).

    Columns by header: the ledger's Chinese headers (as `export ledger` writes them), a field's
    label, or its --set key. Every row is checked first: a bad one is named as sheet!cell, and
    then nothing is created (exit 4).

    Nothing is created twice: a row whose 编号 column names an item of this workflow (same title)
    or an item imported before is skipped; without 编号, a row is skipped when the same row of a
    file with the same sha256 was imported. Both are recorded in the new item's create event."""
    from workflow.commands.progress import progress
    from workflow.ledger.importer import import_ledger

    keys = app.keys
    if not dry_run:
        keys.signer(app.login)  # a key's passphrase is asked before the bar is drawn
    with progress(app, _("importing"), None):
        result = import_ledger(app.workspace, keys, app.login, workflow_id, file, dry_run)
    app.emit(result, _human(result))


def _human(result: dict[str, Any]) -> str:
    lines = [_("row {row}: created {key} {title}").format(**c) for c in result["created"]]
    lines += [_("row {row}: would create {title}").format(**c) for c in result["would_create"]]
    lines += [_("row {row}: skipped, {key} is already here").format(row=s["row"], key=s["key"] or _("the same row"))
              for s in result["skipped"]]
    if result["dry_run"]:
        lines.append(_("dry run: {n} items would be created, {s} skipped; nothing was created").format(
            n=len(result["would_create"]), s=len(result["skipped"])))
    else:
        lines.append(_("{n} items imported, {s} skipped").format(n=len(result["created"]), s=len(result["skipped"])))
    return "\n".join(lines)
