"""Item commands: new, show, do, countersign, list, worklist, history, docs, ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from workflow.commands.app import App, parse_sets
from workflow.inputs import check_item_key, check_text

LIST_PAGE = 50  # `gongwen list`: items per page unless --limit (or --all)
MAX_PAGE, MAX_OFFSET = 100_000, 2**31 - 1  # beyond: a usage error (exit 2), not a database overflow

if TYPE_CHECKING:  # the engine's results, for the annotations (imported when used, not at startup)
    from workflow.engine.reads import ItemPage
    from workflow.engine.views import ItemDocuments, ItemHistory, ItemView, Worklist


@click.command()
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option("--title", help="The item's title.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set a field (repeatable; list.N.sub=V).")
@click.option("--from", "source", metavar="FILE", help="Fields from a .yaml or .json file.")
@click.option("-m", "--comment", default="", help="A comment for the history.")
@click.pass_obj
def new(app: App, workflow_id: str, title: str | None, sets: tuple[str, ...], source: str | None,
        comment: str) -> None:
    """Create an item of WORKFLOW in its initial state."""
    from workflow.definition.valuefile import read_values

    if title is not None:
        check_text(title, "--title", multiline=False)
    check_text(comment, "comment")
    pairs = parse_sets(sets)
    values = read_values(source) if source else {}
    view: ItemView = app.engine.create(app.login, workflow_id, title, values, pairs, comment)
    app.emit(view.to_json(), f"created {view.key} ({view.workflow_title}): {view.title} "
                             f"→ {view.state} ({view.state_title})")


@click.command()
@click.argument("key", metavar="ITEM")
@click.pass_obj
def show(app: App, key: str) -> None:
    """Show an item: fields, state, what you may do, history."""
    from workflow.commands.present import item_text

    view: ItemView = app.engine.show(app.login, check_item_key(key))
    app.emit(view.to_json(), item_text(view))


@click.command("do")
@click.argument("key", metavar="ITEM")
@click.argument("transition")
@click.option("-m", "--comment", default="", help="Comment or reason (required for returns).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set a field as part of the transition.")
@click.option("--expect-version", type=int, help="Refuse (exit 3) unless the item is still at this version.")
@click.pass_obj
def do_transition(app: App, key: str, transition: str, comment: str, sets: tuple[str, ...],
                  expect_version: int | None) -> None:
    """Fire TRANSITION on ITEM as the acting user."""
    check_text(comment, "comment")
    pairs = parse_sets(sets)
    view: ItemView = app.engine.fire(app.login, check_item_key(key), transition, comment, pairs, expect_version)
    numbers = "".join(f"; {n}: {v}" for n, v in view.numbers.items())
    app.emit(view.to_json(), f"{view.key}: {transition} → {view.state} ({view.state_title}){numbers}")


@click.command()
@click.argument("key", metavar="ITEM")
@click.argument("decision", metavar="同意|不同意")
@click.option("-m", "--comment", default="", help="The opinion (会签意见).")
@click.option("--for", "party", metavar="OFFICE", help="The office (role or its title) you sign for, if several.")
@click.option("--expect-version", type=int, help="Refuse (exit 3) unless the item is still at this version.")
@click.pass_obj
def countersign(app: App, key: str, decision: str, comment: str, party: str | None,
                expect_version: int | None) -> None:
    """Give your 会签 opinion on ITEM: 同意 (agree) or 不同意 (disagree)."""
    from workflow.engine import countersign as cosign

    check_text(comment, "comment")
    view: ItemView = cosign.record(app.engine, app.login, check_item_key(key), decision, comment, party,
                                   expect_version)
    pending = "、".join(view.countersign["pending"]) if view.countersign else ""
    left = f"; yet to sign: {pending}" if pending else ""
    app.emit(view.to_json(), f"{view.key}: 会签 {decision} → {view.state} ({view.state_title}){left}")


@click.command("list")
@click.option("--workflow", help="Only this workflow.")
@click.option("--state", help="Only items in this state.")
@click.option("--mine", is_flag=True, help="Only items I created.")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_PAGE), help=f"Items per page (default {LIST_PAGE}).")
@click.option("--offset", type=click.IntRange(min=0, max=MAX_OFFSET), help="Skip this many items first (default 0).")
@click.option("--page", type=click.IntRange(min=1, max=MAX_OFFSET), help="The page to show, from 1.")
@click.option("--all", "everything", is_flag=True, help="Every item matching, on one page.")
@click.pass_obj
def list_items(app: App, workflow: str | None, state: str | None, mine: bool, limit: int | None,
               offset: int | None, page: int | None, everything: bool) -> None:
    """List items, oldest first, a page at a time, with how many there are in all."""
    from workflow.commands.present import summaries_text

    if page is not None and offset is not None:
        raise click.UsageError("give --page or --offset, not both")
    if everything and (limit is not None or page is not None or offset is not None):
        raise click.UsageError("--all lists every item: it takes no --limit, --page or --offset")
    size = None if everything else (limit or LIST_PAGE)
    skip = (page - 1) * (size or 0) if page is not None else (offset or 0)
    items: ItemPage = app.engine.list_items(app.login, workflow, state, mine, limit=size, offset=skip)
    app.emit({"items": [i.to_json() for i in items], "total": items.total, "limit": size, "offset": skip},
             summaries_text(items) + page_text(items.total, size, skip, len(items)))


def page_text(total: int, limit: int | None, offset: int, shown: int) -> str:
    """The line under a page of `list`: which items of how many, and how to see the next ones."""
    if limit is None and offset == 0:
        return f"\n{total} item{'s' if total != 1 else ''}" if total else ""
    if not shown:
        return f"\nshowing none of {total} (offset {offset})" if total else ""
    line = f"\nshowing {offset + 1}–{offset + shown} of {total}"
    if offset + shown < total and limit is not None:
        follow = f"--page {offset // limit + 2}" if offset % limit == 0 else f"--offset {offset + shown}"
        line += f"; next: {follow}"
    return line


@click.command()
@click.pass_obj
def worklist(app: App) -> None:
    """What waits for me, from the definitions' worklists."""
    from workflow.commands.present import summaries_text

    lists: list[Worklist] = app.engine.worklist(app.login)
    human = "\n\n".join(f"{wl.workflow_title} · {wl.title} ({len(wl.items)})\n"
                        f"{summaries_text(wl.items)}" for wl in lists) or "nothing waits for you"
    app.emit({"login": app.login, "worklists": [wl.to_json() for wl in lists]}, human)


@click.command()
@click.argument("key", metavar="ITEM")
@click.pass_obj
def history(app: App, key: str) -> None:
    """The history of an item: who did what, when, with comments and changes."""
    from workflow.commands.present import history_text

    found: ItemHistory = app.engine.history(app.login, check_item_key(key))
    app.emit(found.to_json(), f"{found.key}  {found.title}\n{history_text(found.history)}")


@click.command()
@click.argument("key", metavar="ITEM")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="Write the documents to DIR.")
@click.option("--pdf", is_flag=True, help="Also convert them to PDF with LibreOffice (soffice).")
@click.pass_obj
def docs(app: App, key: str, export_dir: str | None, pdf: bool) -> None:
    """List an item's Word documents, or export them (and PDFs)."""
    from pathlib import Path

    from workflow.commands.present import table
    from workflow.documents.produce import document_path, export

    found: ItemDocuments = app.engine.documents(app.login, check_item_key(key), with_bytes=bool(export_dir or pdf))
    rows = list(found.documents)
    data: dict[str, Any] = {"key": found.key, "documents": rows}
    if export_dir or pdf:
        folder = Path(export_dir) if export_dir else document_path(app.workspace, found.key)
        data["exported"] = [str(p) for p in export(folder, rows, found.blobs)]
        if pdf:
            from workflow.documents.office import convert_to_pdf

            data["pdf"] = [str(p) for p in convert_to_pdf([Path(p) for p in data["exported"]], folder)]
    human = table(["seq", "transition", "file", "sha256", "bytes"],
                  [[r["seq"], r["transition"], r["file"], r["sha256"][:12], r["size"]] for r in rows])
    for key_name in ("exported", "pdf"):
        if key_name in data:
            human += f"\n{key_name}: {len(data[key_name])} files in {folder}"
    app.emit(data, human if rows else f"{found.key} has no documents yet")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--signer", metavar="LOGIN", help="The signer, when the form does not name one legibly.")
@click.pass_obj
def ingest(app: App, files: tuple[str, ...], signer: str | None) -> None:
    """Apply returned approval forms (.docx files or folders) as the supervisor who signed."""
    from workflow.forms.ingest import ingest as ingest_files

    results = ingest_files(app.engine, app.login, files, signer)
    lines = []
    for r in results:
        if r["ok"]:
            lines.append(f"ok       {r['file']}: {r['key']} {r['decision']} by {r['signer']} → "
                         f"{r['state']} ({r['state_title']})")
        else:
            lines.append(f"refused  {r['file']}: {r['reason']}: {r['message']}")
    app.emit({"results": results}, "\n".join(lines) or "no .docx files found")
    failed = [r["exit_code"] for r in results if not r["ok"]]
    if failed or not results:
        raise click.exceptions.Exit(max(failed) if failed else 4)
