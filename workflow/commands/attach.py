"""Attachments (附件, 佐证材料) and voiding (作废)."""

from __future__ import annotations

import click

from workflow.commands.app import App
from workflow.i18n import _


@click.command()
@click.argument("key", metavar="ITEM")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--field", "field", metavar="F", help="The field the files document: a field (e.g. evidence) or a "
              "record's field in a list (e.g. findings.2.evidence: the second finding's 佐证材料).")
@click.option("-m", "--note", default="", help="A note on the files (e.g. 整改前后照片).")
@click.pass_obj
def attach(app: App, key: str, files: tuple[str, ...], field: str | None, note: str) -> None:
    """Attach FILES to ITEM (附件, 佐证材料), in one signed event.

    Who may: the item's creator, and whoever may act on it now (a role on a step out of its current
    state, or a countersigner still to answer). A voided or finished item takes none. At most 20
    files, 20 MB each, 50 MB together, of these types, checked by their content: pdf, ofd, docx,
    xlsx, pptx (no macros), doc, xls, ppt, wps, et, jpg, png, tif. Listed and exported by `gongwen
    docs`; `gongwen audit verify` checks their bytes."""
    from workflow.engine.attachments import attach as attach_files
    from workflow.engine.names import item_key

    done = attach_files(app.engine, app.login, item_key(key), files, field, note)
    app.emit(done.to_json(), _("attached {n} files to {key} (event {seq}): {names}").format(
        n=len(done.files), key=done.key, seq=done.seq, names=", ".join(f["name"] for f in done.files)))


@click.command()
@click.argument("key", metavar="ITEM")
@click.option("-m", "--reason", required=True, help="Why it is voided (required).")
@click.option("--expect-version", "expected_version", type=int, metavar="N",
              help="Refuse (exit 3) unless the item is at revision N.")
@click.pass_obj
def void(app: App, key: str, reason: str, expected_version: int | None) -> None:
    """Void ITEM (作废): by its creator or an admin, while it is in its initial state or sent back
    (退回). It moves to 已作废, leaves every worklist and stays in the history. An item further
    along is withdrawn or revoked (撤回/撤销) through its workflow instead."""
    from workflow.engine.names import item_key
    from workflow.engine.void import void as void_item

    view = void_item(app.engine, app.login, item_key(key), reason, expected_version)
    app.emit(view.to_json(), _("{key} voided: now {state} ({title})").format(
        key=view.key, state=view.state, title=view.state_title))
